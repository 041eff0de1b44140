"""Reading the text files county offices make (CSV from Excel or WPS, GeoJSON from GIS tools)."""

from __future__ import annotations


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
