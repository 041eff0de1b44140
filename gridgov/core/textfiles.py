"""Reading the files county offices make: text (CSV from Excel or WPS, GeoJSON from GIS tools) and Excel
workbooks."""

from __future__ import annotations

import io
import zipfile
from typing import Any

from django.utils.translation import gettext as _


def decode_text(data: bytes) -> str:
    """Text of a file saved by anything a county office uses: UTF-8 (with or without BOM), UTF-16 with BOM,
    or GB18030 (a superset of GBK and GB2312, what Chinese Excel and WPS save as "CSV").

    Raises UnicodeDecodeError (its `start` is the first byte that cannot be read) when it is none of them."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    # Chinese text in GBK is almost never valid UTF-8, so UTF-8 first and GB18030 second is a safe order.
    return data.decode("gb18030")


class UnreadableFile(Exception):
    """The file is not what it has to be; `message` says why in the reader's language."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def open_workbook(data: bytes, *, max_unpacked: int) -> Any:
    """The workbook of an .xlsx file, read only, formulas as typed (not their last values): the caller closes it.

    Raises UnreadableFile for a file that is no workbook, or one that unpacks to more than `max_unpacked` bytes
    (a zip bomb, refused before openpyxl unpacks anything)."""
    if not data.startswith(b"PK\x03\x04"):
        raise UnreadableFile(_("The file is not an Excel workbook (.xlsx)."))
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            unpacked = sum(i.file_size for i in z.infolist())
        if unpacked > max_unpacked:
            raise UnreadableFile(_("The workbook unpacks to too much data."))
        from openpyxl import load_workbook

        return load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except UnreadableFile:
        raise
    except Exception as exc:  # openpyxl raises many kinds for a broken or foreign file
        raise UnreadableFile(_("The file is not an Excel workbook (.xlsx) that can be read.")) from exc
