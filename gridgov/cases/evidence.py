"""Evidence files: the photos and short videos attached to a case.

A file is recognised by its content (magic bytes, then a full parse), never by its name or by the content type
the client claims: SVG, HTML, PDF, archives, executables, text and everything else are refused, whatever they
are called. Accepted: JPEG, PNG, WebP and HEIC/HEIF photos; MP4, MOV (QuickTime) and WebM videos.

Every accepted file gives two copies:

- `original`, the bytes as uploaded. They may tell where and with which device the file was made, so they stay
  internal (the storage is private; the public never gets a URL to them).
- `public`, what anyone may see. Photos are decoded and re-encoded from their pixels (orientation applied,
  colours converted to sRGB, long edge limited), so no EXIF, XMP, ICC, comment or text chunk survives; HEIC
  becomes JPEG because browsers do not show HEIC. MP4/MOV keep their bytes, but every metadata box (`udta`,
  `meta`, `uuid`: ©xyz, loci, Apple's ISO 6709 key, XMP…) is overwritten in place by a `free` box of the same
  size, and the samples of non-audio/video tracks (GPS tracks of dashcams and action cameras, Apple `mebx`
  metadata) are zeroed: nothing moves, so the chunk offsets (stco/co64) stay valid without ffmpeg.
  WebM is kept as is: it has no standard place for a location (its Tags are not examined).

`check_files` validates a whole upload before anything is written; `store` then writes both copies through
Django's storage API (filesystem by default, S3-compatible by configuration) under random names and creates
the `Evidence` rows (`store_files` does the same for any model of such files). Errors are `EvidenceError`s:
field "evidence", a translated message naming the file."""

from __future__ import annotations

import hashlib
import io
import logging
import struct
import unicodedata
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

from django.conf import settings
from django.core.files.base import ContentFile, File
from django.core.files.uploadedfile import UploadedFile
from django.db.models import FileField, Model
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext
from PIL import Image, ImageCms, ImageOps

from .choices import EvidenceKind, EvidencePhase
from .models import Evidence

if TYPE_CHECKING:
    from gridgov.accounts.models import User

    from .models import Case, CaseEvent

logger = logging.getLogger(__name__)

NAME_MAX_LENGTH = 120
# Decoding allocates width × height × 4 bytes: 50 MP (200 MB) is more than any phone camera gives and bounds the
# memory one upload can take. Checked on the header, before decoding; Pillow's own (global, laxer) bomb check
# stays as it is, so that other code using Pillow is not affected.
MAX_PIXELS = 50_000_000
# The public copy is for looking at, not for printing.
PUBLIC_LONG_EDGE = 2560
JPEG_QUALITY = 85
WEBP_QUALITY = 85


class EvidenceError(ValueError):
    """A file refused; `str(exc)` is a translated message naming it. Nothing was stored."""

    field = "evidence"

    def __init__(self, message: str, *, name: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.name = name


@dataclass(frozen=True)
class CheckedFile:
    """One validated file, with its public copy already made: `store` only writes."""

    name: str
    kind: str
    content_type: str
    extension: str
    size: int
    sha256: str
    original: bytes = field(repr=False)
    public: bytes = field(repr=False)
    public_content_type: str
    public_extension: str


# -- formats -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Format:
    kind: str
    content_type: str
    extension: str
    # The Pillow plugin that must decode it (photos only): no other plugin gets to look at the bytes.
    pillow: str = ""


JPEG = _Format(EvidenceKind.PHOTO, "image/jpeg", ".jpg", "JPEG")
PNG = _Format(EvidenceKind.PHOTO, "image/png", ".png", "PNG")
WEBP = _Format(EvidenceKind.PHOTO, "image/webp", ".webp", "WEBP")
HEIC = _Format(EvidenceKind.PHOTO, "image/heic", ".heic", "HEIF")
MP4 = _Format(EvidenceKind.VIDEO, "video/mp4", ".mp4")
MOV = _Format(EvidenceKind.VIDEO, "video/quicktime", ".mov")
WEBM = _Format(EvidenceKind.VIDEO, "video/webm", ".webm")

# ISO-BMFF brands (ftyp). HEIF brands name HEVC-coded images; mif1/msf1 are generic HEIF, which is AVIF when an
# AVIF brand is present (not accepted: no decoder is installed for it).
_HEIC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"})
_HEIF_GENERIC_BRANDS = frozenset({b"mif1", b"msf1", b"mif2"})
_AVIF_BRANDS = frozenset({b"avif", b"avis"})
_MOV_BRANDS = frozenset({b"qt  "})
_MP4_BRANDS = frozenset(
    {
        *(b"iso" + bytes([c]) for c in b"m23456789"),
        b"mp41",
        b"mp42",
        b"avc1",
        b"M4V ",
        b"M4VP",
        b"3gp4",
        b"3gp5",
        b"3gp6",
        b"3g2a",
        b"mmp4",
        b"dash",
        b"XAVC",
        b"MSNV",
    }
)

_EBML_MAGIC = b"\x1a\x45\xdf\xa3"


def _sniff(data: bytes) -> _Format | None:
    """The format the bytes are in, from their first bytes only; None for anything not accepted."""
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    if data[4:8] == b"ftyp":
        return _sniff_ftyp(data)
    if data.startswith(_EBML_MAGIC):
        # Matroska in general is refused: `_check_webm` reads the DocType.
        return WEBM
    return None


def _sniff_ftyp(data: bytes) -> _Format | None:
    size = int.from_bytes(data[:4], "big")
    if size < 16 or size > len(data) or size % 4:
        return None
    major = data[8:12]
    brands = {major, *(data[i : i + 4] for i in range(16, size, 4))}
    if major in _HEIC_BRANDS or (major in _HEIF_GENERIC_BRANDS and not brands & _AVIF_BRANDS):
        return HEIC
    if major in _MOV_BRANDS:
        return MOV
    if major in _MP4_BRANDS:
        return MP4
    # Vendors' own major brands (Sony "XAVC", …) list the standard ones as compatible.
    if brands & _MOV_BRANDS:
        return MOV
    if brands & _MP4_BRANDS and not brands & (_HEIC_BRANDS | _HEIF_GENERIC_BRANDS | _AVIF_BRANDS):
        return MP4
    return None


# -- errors ------------------------------------------------------------------------------------------------


def _error(message: str, name: str, **params: Any) -> EvidenceError:
    """`message` is already translated and holds %(name)s: the file the user has to look at."""
    return EvidenceError(message % {"name": name, **params}, name=name)


class _Damaged(Exception):
    """The bytes start like a format they do not follow."""


class _CannotStrip(Exception):
    """The video may carry a location in a place this module cannot blank without rewriting the file."""


class _NoVideo(Exception):
    """A well-formed container without a video track (audio, still images…)."""


class _NotWebM(Exception):
    """EBML, but not WebM (Matroska, …)."""


# -- reading -----------------------------------------------------------------------------------------------


def clean_name(raw: object) -> str:
    """The name to show: no directory, no control or bidi-override characters, at most 120 characters.

    It is only ever displayed: files are stored under random names."""
    name = unicodedata.normalize("NFC", str(raw or ""))
    # Browsers of some systems send the client's full path; either separator may be the client's.
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    # Category C: controls, format characters (U+202E can make "gpj.exe" read "exe.jpg"), unassigned, private.
    name = "".join(ch for ch in name if not unicodedata.category(ch).startswith("C"))
    name = " ".join(name.split()).strip(" .")
    if len(name) > NAME_MAX_LENGTH:
        stem, dot, ext = name.rpartition(".")
        if dot and stem and 0 < len(ext) <= 10:
            name = stem[: NAME_MAX_LENGTH - len(ext) - 1].rstrip() + "." + ext
        else:
            name = name[:NAME_MAX_LENGTH]
    return name


def _read(item: UploadedFile | File | tuple[str, bytes], limit: int) -> tuple[str, bytes]:
    """The name and at most `limit` + 1 bytes: enough to tell that a file is too large without reading it all."""
    if isinstance(item, tuple):
        raw_name, content = item
        return clean_name(raw_name), bytes(content[: limit + 1])
    if isinstance(item, File):
        chunks: list[bytes] = []
        total = 0
        for chunk in item.chunks():
            chunk = chunk.encode() if isinstance(chunk, str) else bytes(chunk)
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                break
        return clean_name(item.name), b"".join(chunks)[: limit + 1]
    raise TypeError(f"evidence must be uploaded files or (name, bytes) pairs, not {type(item).__name__}")


# -- checking ----------------------------------------------------------------------------------------------


def check_files(files: Sequence[UploadedFile | tuple[str, bytes] | CheckedFile]) -> list[CheckedFile]:
    """Validate every file and make its public copy; raise `EvidenceError` on the first file refused. A file
    checked before (a failed inspection's photos, handed on to its case) is taken as it is.

    Nothing is stored here, so a refusal changes nothing."""
    items = list(files)
    max_files = settings.EVIDENCE_MAX_FILES
    limit = max(settings.EVIDENCE_MAX_PHOTO_BYTES, settings.EVIDENCE_MAX_VIDEO_BYTES)
    if len(items) > max_files:
        first_extra = items[max_files]
        name = clean_name(first_extra[0] if isinstance(first_extra, tuple) else first_extra.name)
        raise _error(
            # Translators: %(name)s is the first file over the limit.
            gettext("%(name)s: too many files, at most %(max)d can be attached."),
            name or _fallback_name(max_files + 1),
            max=max_files,
        )
    return [
        item if isinstance(item, CheckedFile) else _check_one(*_read(item, limit), number)
        for number, item in enumerate(items, start=1)
    ]


def _fallback_name(number: int) -> str:
    # Translators: names a file that came without a name, by its position in the upload.
    return gettext("file %(number)d") % {"number": number}


def _check_one(name: str, data: bytes, number: int) -> CheckedFile:
    shown = name or _fallback_name(number)
    if not data:
        raise _error(gettext("%(name)s: the file is empty."), shown)
    fmt = _sniff(data)
    if fmt is None:
        raise _unsupported(shown)
    if fmt.kind == EvidenceKind.PHOTO and len(data) > settings.EVIDENCE_MAX_PHOTO_BYTES:
        raise _error(
            gettext("%(name)s: the photo is larger than %(max)s."),
            shown,
            max=filesizeformat(settings.EVIDENCE_MAX_PHOTO_BYTES),
        )
    if fmt.kind == EvidenceKind.VIDEO and len(data) > settings.EVIDENCE_MAX_VIDEO_BYTES:
        raise _error(
            gettext("%(name)s: the video is larger than %(max)s."),
            shown,
            max=filesizeformat(settings.EVIDENCE_MAX_VIDEO_BYTES),
        )
    if fmt.kind == EvidenceKind.PHOTO:
        public, public_fmt = _check_photo(data, fmt, shown)
    else:
        public, public_fmt = _check_video(data, fmt, shown), fmt
    return CheckedFile(
        name=name,
        kind=fmt.kind,
        content_type=fmt.content_type,
        extension=fmt.extension,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        original=data,
        public=public,
        public_content_type=public_fmt.content_type,
        public_extension=public_fmt.extension,
    )


def _unsupported(shown: str) -> EvidenceError:
    return _error(
        gettext("%(name)s: only photos (JPEG, PNG, WebP, HEIC) and videos (MP4, MOV, WebM) are accepted."),
        shown,
    )


# -- photos ------------------------------------------------------------------------------------------------


@cache
def _heif_opener() -> None:
    """Teach Pillow HEIC once, on the first HEIC (importing this module must not change Pillow)."""
    import pillow_heif

    pillow_heif.register_heif_opener()


def _check_photo(data: bytes, fmt: _Format, shown: str) -> tuple[bytes, _Format]:
    """Decode the whole photo (a truncated or forged one fails here) and make the public copy."""
    if fmt is HEIC:
        _heif_opener()
    try:
        with Image.open(io.BytesIO(data), formats=[fmt.pillow]) as im:
            width, height = im.size
            if width * height > MAX_PIXELS:
                raise _too_many_pixels(shown)
            im.load()
            # Browsers do not show HEIC.
            out = JPEG if fmt is HEIC else fmt
            return _public_photo(im, out), out
    except EvidenceError:
        raise
    except Image.DecompressionBombError as exc:
        raise _too_many_pixels(shown) from exc
    # Decoders of untrusted bytes fail in many ways (OSError, SyntaxError, ValueError, struct.error,
    # EOFError, …): each means the photo cannot be read.
    except Exception as exc:
        logger.debug("evidence: photo refused as unreadable", exc_info=True)
        raise _error(gettext("%(name)s: the photo is damaged or incomplete."), shown) from exc


def _too_many_pixels(shown: str) -> EvidenceError:
    return _error(
        gettext("%(name)s: the photo has too many pixels (at most %(max)d megapixels)."),
        shown,
        max=MAX_PIXELS // 1_000_000,
    )


def _public_photo(im: Image.Image, out: _Format) -> bytes:
    """Re-encode from pixels only: a fresh image carries no EXIF (GPS), XMP, ICC, JPEG comment or PNG text."""
    try:
        # Orientation lives in EXIF, which is dropped: turn the pixels instead.
        im = ImageOps.exif_transpose(im)
    except Exception:
        # Broken EXIF is no reason to refuse the pixels; they are shown as stored.
        logger.info("evidence: unreadable EXIF orientation, photo kept unturned")
        im = im.copy()
    im = _to_srgb(im)
    im = _plain_mode(im, out)
    im.thumbnail((PUBLIC_LONG_EDGE, PUBLIC_LONG_EDGE), Image.Resampling.LANCZOS)
    # Plugins read some metadata from `im.info` when saving (JPEG copies the comment): start from nothing.
    clean = Image.frombytes(im.mode, im.size, im.tobytes())
    buffer = io.BytesIO()
    if out is JPEG:
        clean.save(buffer, "JPEG", quality=JPEG_QUALITY, optimize=True)
    elif out is PNG:
        clean.save(buffer, "PNG", optimize=False)
    else:
        clean.save(buffer, "WEBP", quality=WEBP_QUALITY, method=4)
    return buffer.getvalue()


_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def _to_srgb(im: Image.Image) -> Image.Image:
    """Apply the embedded colour profile to the pixels (phones shoot Display P3): the profile itself is not kept,
    being free text a device may fill as it likes."""
    icc = im.info.get("icc_profile")
    if not icc or im.mode not in ("RGB", "RGBA", "CMYK"):
        return im
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        converted = ImageCms.profileToProfile(
            im, source, _SRGB, outputMode="RGBA" if im.mode == "RGBA" else "RGB"
        )
    except Exception:
        # A broken profile: colours may be a little off, which is no reason to refuse the photo.
        logger.info("evidence: colour profile not applied")
        return im
    return converted if converted is not None else im


def _plain_mode(im: Image.Image, out: _Format) -> Image.Image:
    """8-bit greyscale or RGB, with alpha where the output keeps it (JPEG has none: white background)."""
    if im.mode.startswith("I;16"):
        im = im.convert("I")
    if im.mode in ("I", "F"):
        # 16-bit greyscale PNG: scale down rather than clip.
        im = im.point(lambda value: value * (1 / 256)).convert("L")
    alpha = im.has_transparency_data
    if out is JPEG:
        if alpha:
            rgba = im.convert("RGBA")
            background = Image.new("RGB", rgba.size, (255, 255, 255))
            background.paste(rgba, mask=rgba.getchannel("A"))
            return background
        return im if im.mode in ("L", "RGB") else im.convert("RGB")
    if alpha:
        return im if im.mode == "RGBA" else im.convert("RGBA")
    if out is PNG and im.mode == "L":
        return im
    return im if im.mode == "RGB" else im.convert("RGB")


# -- videos ------------------------------------------------------------------------------------------------


def _check_video(data: bytes, fmt: _Format, shown: str) -> bytes:
    """Check the container's structure (no decoder without ffmpeg) and make the public copy."""
    try:
        if fmt is WEBM:
            return _check_webm(data)
        return _strip_isobmff(data)
    except _NotWebM as exc:
        raise _unsupported(shown) from exc
    except _NoVideo as exc:
        raise _error(gettext("%(name)s: the file holds no video."), shown) from exc
    except _CannotStrip as exc:
        raise _error(gettext("%(name)s: the location data of this video cannot be removed."), shown) from exc
    except (_Damaged, struct.error, IndexError, ValueError) as exc:
        raise _error(gettext("%(name)s: the video is damaged or incomplete."), shown) from exc


@dataclass(frozen=True)
class _Box:
    type: bytes
    start: int  # the box's first byte (its size field)
    body: int  # the first byte after its header
    end: int
    large: bool  # 64-bit size: the header is 16 bytes, not 8


def _boxes(data: bytes, start: int, end: int) -> Iterator[_Box]:
    """The boxes from `start` to `end`, which they must fill exactly."""
    pos = start
    while pos < end:
        if end - pos < 8:
            raise _Damaged
        size, kind = struct.unpack_from(">I4s", data, pos)
        header, large = 8, False
        if size == 1:
            if end - pos < 16:
                raise _Damaged
            (size,) = struct.unpack_from(">Q", data, pos + 8)
            header, large = 16, True
        elif size == 0:
            # The last box runs to the end of its container.
            size = end - pos
        if kind == b"uuid":
            header += 16
        if size < header or pos + size > end:
            raise _Damaged
        yield _Box(kind, pos, pos + header, pos + size, large)
        pos += size


def _children(data: bytes, box: _Box) -> list[_Box]:
    return list(_boxes(data, box.body, box.end))


def _child(data: bytes, box: _Box | None, kind: bytes) -> _Box | None:
    if box is None:
        return None
    return next((child for child in _boxes(data, box.body, box.end) if child.type == kind), None)


# Where `udta`, `meta` and `uuid` boxes may sit: the file, the movie, tracks, media, fragments.
_WALKED = frozenset({b"moov", b"trak", b"mdia", b"minf", b"moof", b"traf"})
# Everything in them is descriptive: location (©xyz, loci, com.apple.quicktime.location.ISO6709), device,
# software, dates, XMP (a `uuid` box), vendors' GPS logs (Sony, GoPro `uuid`s). Playback needs none of it.
_METADATA = frozenset({b"udta", b"meta", b"uuid"})
_PLAYED = frozenset({b"vide", b"soun"})


def _strip_isobmff(data: bytes) -> bytes:
    top = list(_boxes(data, 0, len(data)))
    if top[0].type != b"ftyp":
        raise _Damaged
    movies = [box for box in top if box.type == b"moov"]
    if len(movies) != 1:
        raise _Damaged
    movie = movies[0]
    if _child(data, movie, b"cmov") is not None:
        # Old QuickTime compresses the movie header: its metadata cannot be blanked in place.
        raise _CannotStrip

    blank: list[_Box] = []
    _collect_metadata(data, top, blank)
    zero: list[tuple[int, int]] = []
    fragmented = _child(data, movie, b"mvex") is not None
    has_video = False
    for trak in (box for box in _children(data, movie) if box.type == b"trak"):
        hdlr = _child(data, _child(data, trak, b"mdia"), b"hdlr")
        if hdlr is None or hdlr.end - hdlr.body < 12:
            raise _Damaged
        # FullBox version/flags (4), pre_defined (4), handler_type (4).
        handler = data[hdlr.body + 8 : hdlr.body + 12]
        if handler == b"vide":
            has_video = True
        if handler not in _PLAYED:
            if fragmented:
                # Samples of a fragmented file sit in `moof`s: not followed here.
                raise _CannotStrip
            zero.extend(_sample_ranges(data, trak))
    if not has_video:
        raise _NoVideo
    if not blank and not zero:
        return data
    public = bytearray(data)
    for box in blank:
        # Keep the size field (32- or 64-bit), so nothing after the box moves; zero the rest.
        public[box.start + 4 : box.start + 8] = b"free"
        payload = box.start + (16 if box.large else 8)
        public[payload : box.end] = bytes(box.end - payload)
    for start, size in zero:
        public[start : start + size] = bytes(size)
    return bytes(public)


def _collect_metadata(data: bytes, boxes: list[_Box], blank: list[_Box]) -> None:
    for box in boxes:
        if box.type in _METADATA:
            blank.append(box)
        elif box.type in _WALKED:
            _collect_metadata(data, _children(data, box), blank)


def _sample_ranges(data: bytes, trak: _Box) -> list[tuple[int, int]]:
    """(offset, size) of every sample of a non-fragmented track, from its sample tables."""
    stbl = _child(data, _child(data, _child(data, trak, b"mdia"), b"minf"), b"stbl")
    if stbl is None:
        raise _Damaged
    tables = {box.type: box for box in _children(data, stbl)}
    stsz, stsc = tables.get(b"stsz"), tables.get(b"stsc")
    offsets_box = tables.get(b"stco") or tables.get(b"co64")
    if stsz is None:
        # `stz2` (compact sizes) is legal but not read here: refuse rather than leave a track unblanked.
        raise _CannotStrip if b"stz2" in tables else _Damaged
    if stsc is None or offsets_box is None:
        raise _Damaged

    fixed, count = struct.unpack_from(">II", data, stsz.body + 4)
    sizes: tuple[int, ...] = ()
    if not fixed:
        if stsz.body + 12 + 4 * count > stsz.end:
            raise _Damaged
        sizes = struct.unpack_from(f">{count}I", data, stsz.body + 12)

    (entries,) = struct.unpack_from(">I", data, stsc.body + 4)
    if stsc.body + 8 + 12 * entries > stsc.end:
        raise _Damaged
    runs = [struct.unpack_from(">III", data, stsc.body + 8 + 12 * i)[:2] for i in range(entries)]

    width = 8 if offsets_box.type == b"co64" else 4
    (chunks,) = struct.unpack_from(">I", data, offsets_box.body + 4)
    if offsets_box.body + 8 + width * chunks > offsets_box.end:
        raise _Damaged
    offsets = struct.unpack_from(f">{chunks}{'Q' if width == 8 else 'I'}", data, offsets_box.body + 8)

    # One range per chunk (its samples are contiguous): the work follows the number of chunks, which the
    # file's size bounds, not a sample count a forged header may set to anything.
    ranges: list[tuple[int, int]] = []
    sample = 0
    run = -1
    for chunk_number, offset in enumerate(offsets, start=1):
        # stsc: runs of chunks (by first chunk number) with the same number of samples per chunk.
        while run + 1 < len(runs) and runs[run + 1][0] <= chunk_number:
            run += 1
        if run < 0:
            raise _Damaged
        samples = min(runs[run][1], count - sample)
        if samples <= 0:
            break
        length = fixed * samples if fixed else sum(sizes[sample : sample + samples])
        if offset + length > len(data):
            raise _Damaged
        ranges.append((offset, length))
        sample += samples
    return ranges


# EBML (WebM) element ids, with their length markers as written.
_EBML_DOCTYPE = 0x4282
_SEGMENT = 0x18538067
_TRACKS = 0x1654AE6B
_TRACK_ENTRY = 0xAE
_TRACK_TYPE = 0x83
_CLUSTER = 0x1F43B675
_VIDEO_TRACK = 1


def _vint(data: bytes, pos: int) -> tuple[int, int, bool]:
    """An EBML variable-length integer at `pos`: (value without the length marker, length, all value bits set)."""
    first = data[pos]
    if not first:
        raise _Damaged
    length = 9 - first.bit_length()
    if pos + length > len(data):
        raise _Damaged
    raw = int.from_bytes(data[pos : pos + length], "big")
    value = raw & ((1 << (7 * length)) - 1)
    return value, length, value == (1 << (7 * length)) - 1


def _elements(data: bytes, start: int, end: int) -> Iterator[tuple[int, int, int | None]]:
    """(id, body start, body end — None when the size is unknown, as live recordings write) from start to end."""
    pos = start
    while pos < end:
        _value, id_length, _ = _vint(data, pos)
        element = int.from_bytes(data[pos : pos + id_length], "big")
        size, size_length, unknown = _vint(data, pos + id_length)
        body = pos + id_length + size_length
        if unknown:
            yield element, body, None
            return
        if body + size > end:
            raise _Damaged
        yield element, body, body + size
        pos = body + size


def _check_webm(data: bytes) -> bytes:
    """EBML header with DocType "webm", then a segment whose tracks include a video track.

    Kept as is: WebM has no standard location field (whatever a muxer writes in Tags is not examined)."""
    element, body, end = next(_elements(data, 0, len(data)))
    if element != int.from_bytes(_EBML_MAGIC, "big") or end is None:
        raise _Damaged
    doctype = b""
    for child, child_body, child_end in _elements(data, body, end):
        if child == _EBML_DOCTYPE and child_end is not None:
            doctype = data[child_body:child_end].rstrip(b"\0")
    if doctype != b"webm":
        raise _NotWebM
    segment, segment_body, segment_end = next(_elements(data, end, len(data)), (0, 0, None))
    if segment != _SEGMENT:
        raise _Damaged
    for child, child_body, child_end in _elements(data, segment_body, segment_end or len(data)):
        if child == _TRACKS and child_end is not None:
            if _has_video_track(data, child_body, child_end):
                return data
            raise _NoVideo
        if child == _CLUSTER or child_end is None:
            # Tracks come before the first cluster.
            break
    raise _Damaged


def _has_video_track(data: bytes, start: int, end: int) -> bool:
    for entry, body, entry_end in _elements(data, start, end):
        if entry != _TRACK_ENTRY or entry_end is None:
            continue
        for child, child_body, child_end in _elements(data, body, entry_end):
            if (
                child == _TRACK_TYPE
                and child_end is not None
                and int.from_bytes(data[child_body:child_end], "big") == _VIDEO_TRACK
            ):
                return True
    return False


# -- storing -----------------------------------------------------------------------------------------------


class _Content(ContentFile):
    """Bytes with their content type: S3 storages use it for the object's Content-Type (`.heic` and `.webm`
    are missing from some systems' MIME tables)."""

    def __init__(self, data: bytes, content_type: str) -> None:
        super().__init__(data)
        self.content_type = content_type


def store(
    case: Case,
    checked: Sequence[CheckedFile],
    *,
    phase: str,
    actor: User | None,
    event: CaseEvent | None = None,
    now: datetime | None = None,
) -> list[Evidence]:
    """Write both copies of every checked file and create the `Evidence` rows; call inside a transaction."""
    if phase not in EvidencePhase.values:
        raise ValueError(f"unknown evidence phase {phase!r}")
    return store_files(
        Evidence,
        checked,
        now=now or timezone.now(),
        fields=lambda item: {
            "case": case,
            "event": event,
            "phase": phase,
            "kind": item.kind,
            "uploaded_by": actor,
        },
    )


_Stored = TypeVar("_Stored", bound=Model)


def store_files(
    model: type[_Stored],
    checked: Sequence[CheckedFile],
    *,
    now: datetime,
    fields: Callable[[CheckedFile], dict[str, Any]],
) -> list[_Stored]:
    """Write both copies of every checked file into `model`'s `original` and `public` file fields and create one
    row per file (its type, size, hash, name and time, and what `fields` gives for it); call inside a
    transaction. Every model of such files (a case's evidence, fieldwork's photos) is stored this way.

    Files are written first: should a write or the insert fail, the files already written are deleted. (Should
    the caller's transaction roll back later, the files stay behind unreferenced; they are never served.)"""
    if not checked:
        return []
    original_field = model._meta.get_field("original")
    public_field = model._meta.get_field("public")
    assert isinstance(original_field, FileField) and isinstance(public_field, FileField)
    written: list[tuple[FileField, str]] = []
    try:
        rows = []
        for item in checked:
            original = _write(original_field, item.original, item.extension, item.content_type, now, written)
            public = _write(
                public_field, item.public, item.public_extension, item.public_content_type, now, written
            )
            rows.append(
                model(
                    content_type=item.content_type,
                    size=item.size,
                    sha256=item.sha256,
                    name=item.name[:NAME_MAX_LENGTH],
                    original=original,
                    public=public,
                    created_at=now,
                    **fields(item),
                )
            )
        return model._default_manager.bulk_create(rows)
    except Exception:
        for file_field, name in written:
            try:
                file_field.storage.delete(name)
            except Exception:
                logger.warning("evidence: could not delete %s after a failed store", name, exc_info=True)
        raise


def _write(
    file_field: FileField,
    data: bytes,
    extension: str,
    content_type: str,
    now: datetime,
    written: list[tuple[FileField, str]],
) -> str:
    """Save under the field's upload_to (dated by `now`, in local time) and a random name: the user's name
    never reaches a path, and the public copy's name tells nothing about the original's."""
    local = timezone.localtime(now) if timezone.is_aware(now) else now
    directory = local.strftime(str(file_field.upload_to))
    path = file_field.storage.generate_filename(f"{directory}{uuid.uuid4().hex}{extension}")
    name = file_field.storage.save(path, _Content(data, content_type), max_length=file_field.max_length)
    written.append((file_field, name))
    return name
