"""Evidence files: recognised by content, limited in size, location stripped from the public copy, stored
through Django's storage API. Every file is made here, with Pillow / pillow_heif or byte by byte."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import struct

import pillow_heif
import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from PIL import Image, ImageCms, PngImagePlugin

from gridgov.cases import evidence
from gridgov.cases.choices import Channel, EvidenceKind, EvidencePhase, ReporterKind
from gridgov.cases.evidence import CheckedFile, EvidenceError, check_files, store
from gridgov.cases.models import Case, Evidence

pillow_heif.register_heif_opener()

GPS_IFD = 0x8825
ORIENTATION = 0x0112
LAT = b"+40.1234"
LON = b"+109.5678"


# -- photos ------------------------------------------------------------------------------------------------


def gps_exif(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x0110] = "Phone 9"
    exif[ORIENTATION] = orientation
    exif.get_ifd(GPS_IFD).update(
        {1: "N", 2: (40.0, 7.0, 24.24), 3: "E", 4: (109.0, 34.0, 4.08), 5: b"\x00", 6: 1080.0}
    )
    return exif


def photo(fmt: str, size: tuple[int, int] = (40, 20), mode: str = "RGB", **params: object) -> bytes:
    image = Image.new(mode, size, (200, 30, 30, 255)[: len(mode)] if mode != "L" else 128)
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


# -- videos ------------------------------------------------------------------------------------------------


def box(kind: bytes, payload: bytes = b"") -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def full_box(kind: bytes, payload: bytes = b"") -> bytes:
    return box(kind, b"\x00\x00\x00\x00" + payload)


def trak(handler: bytes, stbl: bytes = b"") -> bytes:
    hdlr = full_box(b"hdlr", b"\x00\x00\x00\x00" + handler + bytes(12) + b"\x00")
    return box(b"trak", box(b"mdia", hdlr + box(b"minf", box(b"stbl", stbl))))


def sample_tables(offset: int, sizes: list[int]) -> bytes:
    """One chunk at `offset` holding every sample."""
    stsd = full_box(b"stsd", struct.pack(">I", 0))
    stsz = full_box(b"stsz", struct.pack(f">II{len(sizes)}I", 0, len(sizes), *sizes))
    stsc = full_box(b"stsc", struct.pack(">IIII", 1, 1, len(sizes), 1))
    stco = full_box(b"stco", struct.pack(">II", 1, offset))
    return stsd + stsz + stsc + stco


FRAME = b"\x00\x00\x00\x0cFAKEFRAME!"
XYZ = LAT + LON + b"/"


def mp4(
    *,
    brand: bytes = b"isom",
    handlers: tuple[bytes, ...] = (b"vide",),
    gps_track: bool = False,
    apple_meta: bool = False,
) -> bytes:
    """ftyp + moov (tracks, udta with ©xyz, optionally an Apple `meta` and a GPS metadata track) + mdat."""
    ftyp = box(b"ftyp", brand + struct.pack(">I", 512) + brand + b"iso2mp41")
    udta = box(b"udta", box(b"\xa9xyz", struct.pack(">HH", len(XYZ), 0x15C7) + XYZ))
    meta = box(b"meta", box(b"keys", b"com.apple.quicktime.location.ISO6709") + box(b"ilst", XYZ))
    samples = [b"GPS" + LAT + LON, b"GPS" + LAT + b"+109.5679"]

    def build(mdat_offset: int) -> tuple[bytes, bytes]:
        traks = b"".join(trak(handler) for handler in handlers)
        if gps_track:
            payload_offset = mdat_offset + 8 + len(FRAME)
            traks += trak(b"meta", sample_tables(payload_offset, [len(s) for s in samples]))
        moov = box(b"moov", full_box(b"mvhd", bytes(96)) + traks + udta + (meta if apple_meta else b""))
        mdat = box(b"mdat", FRAME + (b"".join(samples) if gps_track else b""))
        return moov, mdat

    moov, _ = build(0)
    moov, mdat = build(len(ftyp) + len(moov))
    return ftyp + moov + mdat


def ebml(element: bytes, payload: bytes, *, unknown_size: bool = False) -> bytes:
    size = b"\x01\xff\xff\xff\xff\xff\xff\xff" if unknown_size else b"\x01" + len(payload).to_bytes(7, "big")
    return element + size + payload


def webm(doctype: bytes = b"webm", track_type: int = 1) -> bytes:
    header = ebml(b"\x1a\x45\xdf\xa3", ebml(b"\x42\x86", b"\x01") + ebml(b"\x42\x82", doctype))
    tracks = ebml(
        b"\x16\x54\xae\x6b", ebml(b"\xae", ebml(b"\xd7", b"\x01") + ebml(b"\x83", bytes([track_type])))
    )
    cluster = ebml(b"\x1f\x43\xb6\x75", ebml(b"\xe7", b"\x00"), unknown_size=True)
    # MediaRecorder writes segments of unknown size.
    return header + ebml(b"\x18\x53\x80\x67", tracks + cluster, unknown_size=True)


def refusal(files: list, match: str) -> EvidenceError:
    with pytest.raises(EvidenceError) as caught:
        check_files(files)
    error = caught.value
    assert error.field == "evidence"
    assert match in str(error)
    return error


# -- recognition -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "content_type", "extension", "public_type", "public_extension"),
    [
        (photo("JPEG"), "image/jpeg", ".jpg", "image/jpeg", ".jpg"),
        (photo("PNG", mode="RGBA"), "image/png", ".png", "image/png", ".png"),
        (photo("WEBP"), "image/webp", ".webp", "image/webp", ".webp"),
        (photo("HEIF"), "image/heic", ".heic", "image/jpeg", ".jpg"),
    ],
    ids=["jpeg", "png", "webp", "heic"],
)
def test_photos_are_recognised_by_content(
    data: bytes, content_type: str, extension: str, public_type: str, public_extension: str
) -> None:
    # A misleading name changes nothing.
    (checked,) = check_files([("upload.txt", data)])
    assert checked.kind == EvidenceKind.PHOTO
    assert (checked.content_type, checked.extension) == (content_type, extension)
    assert (checked.public_content_type, checked.public_extension) == (public_type, public_extension)
    assert checked.original == data
    assert checked.size == len(data)
    assert checked.sha256 == hashlib.sha256(data).hexdigest()
    assert checked.name == "upload.txt"
    public = opened(checked.public)
    assert public.size == (40, 20)
    assert public.format == {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}[public_type]


@pytest.mark.parametrize(
    ("data", "content_type", "extension"),
    [
        (mp4(), "video/mp4", ".mp4"),
        (mp4(brand=b"mp42"), "video/mp4", ".mp4"),
        (mp4(brand=b"qt  "), "video/quicktime", ".mov"),
        (webm(), "video/webm", ".webm"),
    ],
    ids=["mp4-isom", "mp4-mp42", "mov", "webm"],
)
def test_videos_are_recognised_by_content(data: bytes, content_type: str, extension: str) -> None:
    (checked,) = check_files([("clip.jpg", data)])
    assert checked.kind == EvidenceKind.VIDEO
    assert (checked.content_type, checked.extension) == (content_type, extension)
    assert (checked.public_content_type, checked.public_extension) == (content_type, extension)
    assert len(checked.public) == len(data)


def test_uploaded_files_are_accepted_as_well_as_pairs() -> None:
    data = photo("PNG")
    upload = SimpleUploadedFile("C:\\Users\\li\\Pictures\\现场.png", data, content_type="text/html")
    (checked,) = check_files([upload])
    assert checked.name == "现场.png"
    assert checked.content_type == "image/png"
    assert checked.original == data


def test_webm_is_kept_as_is() -> None:
    data = webm()
    (checked,) = check_files([("clip.webm", data)])
    assert checked.public == data


# -- location and other metadata ---------------------------------------------------------------------------


def test_jpeg_public_copy_has_no_gps_and_no_exif_while_the_original_keeps_it() -> None:
    data = photo("JPEG", exif=gps_exif(), comment=b"shot at +40.1234+109.5678")
    assert opened(data).getexif().get_ifd(GPS_IFD)

    (checked,) = check_files([("IMG_0001.JPG", data)])

    assert checked.original == data
    assert opened(checked.original).getexif().get_ifd(GPS_IFD)[2] == (40.0, 7.0, 24.24)
    public = opened(checked.public)
    assert not public.getexif()
    assert not public.getexif().get_ifd(GPS_IFD)
    assert "exif" not in public.info and "comment" not in public.info
    assert b"Exif" not in checked.public and b"PhoneMaker" not in checked.public
    assert LAT not in checked.public


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "HEIF"])
def test_png_webp_heic_public_copies_have_no_exif(fmt: str) -> None:
    params: dict[str, object] = {"exif": gps_exif().tobytes()}
    if fmt == "PNG":
        text = PngImagePlugin.PngInfo()
        text.add_text("Comment", "+40.1234+109.5678")
        params["pnginfo"] = text
    data = photo(fmt, **params)
    assert opened(data).getexif().get_ifd(GPS_IFD)

    (checked,) = check_files([("p", data)])

    public = opened(checked.public)
    assert not public.getexif()
    assert b"PhoneMaker" not in checked.public and LAT not in checked.public
    assert b"eXIf" not in checked.public and b"Exif" not in checked.public


def test_heic_becomes_a_jpeg_without_metadata() -> None:
    data = photo("HEIF", size=(64, 48), exif=gps_exif().tobytes())
    (checked,) = check_files([("IMG_1234.HEIC", data)])
    assert (checked.content_type, checked.extension) == ("image/heic", ".heic")
    assert (checked.public_content_type, checked.public_extension) == ("image/jpeg", ".jpg")
    public = opened(checked.public)
    assert public.format == "JPEG"
    assert public.size == (64, 48)
    assert not public.getexif()


def test_orientation_is_applied_to_the_pixels_before_exif_goes() -> None:
    data = photo("JPEG", size=(40, 20), exif=gps_exif(orientation=6))
    (checked,) = check_files([("turned.jpg", data)])
    public = opened(checked.public)
    assert public.size == (20, 40)
    assert ORIENTATION not in public.getexif()


def test_colour_profile_is_applied_and_dropped() -> None:
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = photo("JPEG", icc_profile=profile)
    (checked,) = check_files([("p.jpg", data)])
    assert "icc_profile" not in opened(checked.public).info
    assert opened(checked.original).info["icc_profile"] == profile


def test_public_photo_long_edge_is_limited() -> None:
    data = photo("PNG", size=(3000, 30))
    (checked,) = check_files([("wide.png", data)])
    assert opened(checked.public).size == (evidence.PUBLIC_LONG_EDGE, 26)


def test_alpha_survives_in_png_and_is_flattened_on_white_for_jpeg() -> None:
    image = Image.new("RGBA", (4, 4), (0, 0, 0, 0))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    (checked,) = check_files([("clear.png", buffer.getvalue())])
    assert opened(checked.public).mode == "RGBA"

    buffer = io.BytesIO()
    image.save(buffer, "HEIF")
    (checked,) = check_files([("clear.heic", buffer.getvalue())])
    public = opened(checked.public)
    assert public.mode == "RGB"
    assert public.getpixel((1, 1)) == pytest.approx((255, 255, 255), abs=3)


def test_mp4_public_copy_has_no_location_but_keeps_length_and_ftyp() -> None:
    data = mp4()
    assert b"\xa9xyz" in data

    (checked,) = check_files([("VID_0001.mp4", data)])

    public = checked.public
    assert checked.original == data
    assert len(public) == len(data)
    assert public[:40] == data[:40]
    assert public[4:8] == b"ftyp"
    assert b"\xa9xyz" not in public
    assert LAT not in public and LON not in public
    assert b"free" in public
    assert public.endswith(FRAME)
    # Still a well-formed file: it checks again, unchanged.
    (again,) = check_files([("again.mp4", public)])
    assert again.public == public


def test_apple_location_meta_and_gps_tracks_are_blanked_in_place() -> None:
    data = mp4(brand=b"qt  ", gps_track=True, apple_meta=True)
    assert data.count(LAT) == 4

    (checked,) = check_files([("IMG_0002.MOV", data)])

    public = checked.public
    assert len(public) == len(data)
    assert LAT not in public and LON not in public
    assert b"com.apple.quicktime.location" not in public
    # The video frame is untouched, the GPS samples after it are zeros.
    frame_at = data.index(FRAME)
    assert public[frame_at : frame_at + len(FRAME)] == FRAME
    assert public[frame_at + len(FRAME) :] == bytes(len(data) - frame_at - len(FRAME))


def test_large_size_boxes_are_walked() -> None:
    data = mp4()
    moov_at = data.index(b"moov") - 4
    size = struct.unpack_from(">I", data, moov_at)[0]
    body = data[moov_at + 8 : moov_at + size]
    large = struct.pack(">I4sQ", 1, b"moov", size + 8) + body
    data = data[:moov_at] + large + data[moov_at + size :]

    (checked,) = check_files([("large.mp4", data)])
    assert XYZ not in checked.public
    assert len(checked.public) == len(data)


# -- refusals ----------------------------------------------------------------------------------------------

SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("drawing.svg", SVG),
        ("photo.jpg", HTML),
        ("photo.png", SVG),
        ("report.pdf", b"%PDF-1.7\n1 0 obj <</Type /Catalog>> endobj\n%%EOF"),
        ("notes.jpg", "我在现场拍的照片".encode()),
        ("photos.zip", b"PK\x03\x04" + bytes(40)),
        ("setup.mp4", b"MZ\x90\x00" + bytes(60)),
        ("film.mkv", webm(doctype=b"matroska")),
        ("animated.gif", b"GIF89a" + bytes(20)),
        ("image.avif", box(b"ftyp", b"avif\x00\x00\x00\x00mif1miaf") + box(b"meta")),
    ],
    ids=["svg", "html-named-jpg", "svg-named-png", "pdf", "text", "zip", "exe", "matroska", "gif", "avif"],
)
def test_anything_else_is_refused_whatever_its_name(name: str, data: bytes) -> None:
    with translation.override("en"):
        refusal([("fine.jpg", photo("JPEG")), (name, data)], f"{name}: only photos")


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "HEIF"])
def test_truncated_photos_are_refused(fmt: str) -> None:
    # Noise, so that half of the file is half of the pixels.
    buffer = io.BytesIO()
    Image.effect_noise((200, 200), 60).convert("RGB").save(buffer, fmt)
    data = buffer.getvalue()
    with translation.override("en"):
        refusal([("cut.jpg", data[: len(data) // 2])], "cut.jpg: the photo is damaged")


def test_truncated_or_broken_videos_are_refused() -> None:
    data = mp4()
    with translation.override("en"):
        refusal([("cut.mp4", data[:-5])], "cut.mp4: the video is damaged")
        refusal([("nomoov.mp4", data[: data.index(b"moov") - 4])], "nomoov.mp4: the video is damaged")


def test_a_file_without_video_is_refused() -> None:
    with translation.override("en"):
        refusal([("voice.m4a", mp4(handlers=(b"soun",)))], "voice.m4a: the file holds no video")
        refusal([("voice.webm", webm(track_type=2))], "voice.webm: the file holds no video")


def test_empty_file_is_refused() -> None:
    with translation.override("en"):
        refusal([("empty.jpg", b"")], "empty.jpg: the file is empty")


def test_oversize_files_are_refused_per_kind(settings) -> None:
    settings.EVIDENCE_MAX_PHOTO_BYTES = 100
    settings.EVIDENCE_MAX_VIDEO_BYTES = 10_000
    small_video = mp4()
    assert 100 < len(small_video) < 10_000
    check_files([("ok.mp4", small_video)])
    with translation.override("en"):
        error = refusal([("big.jpg", photo("JPEG"))], "big.jpg: the photo is larger than 100")
        assert error.name == "big.jpg"
        settings.EVIDENCE_MAX_VIDEO_BYTES = 200
        refusal([("big.mp4", small_video)], "big.mp4: the video is larger than 200")


def test_oversize_upload_is_not_read_whole(settings) -> None:
    settings.EVIDENCE_MAX_PHOTO_BYTES = 1000
    settings.EVIDENCE_MAX_VIDEO_BYTES = 1000
    upload = SimpleUploadedFile("huge.jpg", b"\xff\xd8\xff" + bytes(1_000_000))
    with translation.override("en"):
        refusal([upload], "huge.jpg: the photo is larger than")


def test_too_many_files_are_refused(settings) -> None:
    settings.EVIDENCE_MAX_FILES = 2
    files = [(f"p{i}.jpg", photo("JPEG")) for i in range(3)]
    with translation.override("en"):
        refusal(files, "p2.jpg: too many files, at most 2")
    assert len(check_files(files[:2])) == 2


def test_too_many_pixels_are_refused(monkeypatch) -> None:
    monkeypatch.setattr(evidence, "MAX_PIXELS", 1_000_000)
    with translation.override("en"):
        refusal([("bomb.png", photo("PNG", size=(1001, 1000), mode="L"))], "bomb.png: the photo has too many")


def test_refusal_names_the_file_in_every_language() -> None:
    for language in ("zh-hans", "en"):
        with translation.override(language):
            refusal([("现场照片.svg", SVG)], "现场照片.svg")


def test_a_nameless_file_is_named_by_its_position() -> None:
    with translation.override("en"):
        refusal([("a.jpg", photo("JPEG")), ("", SVG)], "file 2")


def test_names_are_sanitised() -> None:
    data = photo("JPEG")
    cases = {
        "../../etc/passwd": "passwd",
        "C:\\fakepath\\IMG\u202egpj.exe": "IMGgpj.exe",
        "a\x00b\nc\td.jpg": "abcd.jpg",
        "  spaced   name .jpg ": "spaced name .jpg",
        "..": "",
    }
    checked = check_files([(raw, data) for raw in cases])
    assert [c.name for c in checked] == list(cases.values())
    (long,) = check_files([("x" * 300 + ".jpeg", data)])
    assert len(long.name) == 120 and long.name.endswith("x.jpeg")


# -- storing -----------------------------------------------------------------------------------------------


@pytest.fixture
def case(small_tree) -> Case:
    now = dt.datetime(2026, 3, 5, 1, 0, tzinfo=dt.UTC)
    return Case.objects.create(
        number="20260305-0001",
        channel=Channel.RESIDENT_APP,
        description="路灯不亮",
        grid=small_tree["150621100200001"],
        reporter_kind=ReporterKind.RESIDENT,
        created_at=now,
        updated_at=now,
    )


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def stored_files(root) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


@pytest.mark.django_db
def test_store_writes_both_copies_through_the_storage(case: Case, media, make_user) -> None:
    user = make_user("worker1")
    checked = check_files(
        [
            ("IMG_0001 我的家.jpg", photo("JPEG", exif=gps_exif())),
            ("IMG_2.HEIC", photo("HEIF")),
            ("v.mp4", mp4()),
        ]
    )
    now = dt.datetime(2026, 3, 31, 17, 0, tzinfo=dt.UTC)  # 1 April in Asia/Shanghai

    rows = store(case, checked, phase=EvidencePhase.REPORT, actor=user, now=now)

    assert len(rows) == 3 and all(row.pk for row in rows)
    assert len(stored_files(media)) == 6
    for row, item in zip(Evidence.objects.filter(case=case).order_by("id"), checked, strict=True):
        assert re.fullmatch(rf"evidence/original/2026/04/[0-9a-f]{{32}}\{item.extension}", row.original.name)
        assert re.fullmatch(
            rf"evidence/public/2026/04/[0-9a-f]{{32}}\{item.public_extension}", row.public.name
        )
        assert default_storage.open(row.original.name).read() == item.original
        with row.public.open("rb") as public:
            assert public.read() == item.public
        assert (row.kind, row.content_type, row.size, row.sha256, row.name) == (
            item.kind,
            item.content_type,
            item.size,
            item.sha256,
            item.name,
        )
        assert (row.phase, row.uploaded_by, row.event, row.created_at) == ("report", user, None, now)
    # The user's names never reach the storage.
    assert not any("IMG" in path or "我的家" in path for path in stored_files(media))


@pytest.mark.django_db
def test_store_deletes_what_it_wrote_when_the_insert_fails(case: Case, media, monkeypatch) -> None:
    checked = check_files([("a.jpg", photo("JPEG")), ("b.png", photo("PNG"))])

    def fail(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database gone")

    monkeypatch.setattr(Evidence.objects, "bulk_create", fail)
    with pytest.raises(RuntimeError):
        store(case, checked, phase=EvidencePhase.AFTER, actor=None)
    assert stored_files(media) == []


@pytest.mark.django_db
def test_store_refuses_an_unknown_phase_and_writes_nothing(case: Case, media) -> None:
    checked: list[CheckedFile] = check_files([("a.jpg", photo("JPEG"))])
    with pytest.raises(ValueError, match="phase"):
        store(case, checked, phase="whenever", actor=None)
    assert stored_files(media) == []
    assert store(case, [], phase=EvidencePhase.OTHER, actor=None) == []
    assert not Evidence.objects.exists()
