"""TIFF and BigTIFF: the first IFD only, since only the first page is kept."""

from __future__ import annotations

from typing import Literal

from picstore.errors import UnsupportedFormat
from picstore.ingest.headers.base import Header, corrupt, truncated

_TYPE_SIZES = {1: 1, 3: 2, 4: 4, 8: 2, 9: 4, 16: 8, 17: 8}
_MAX_ENTRIES = 4096
_DNG_VERSION = 50706
_LOSSY_COMPRESSIONS = frozenset({6, 7, 34892, 50001})  # old JPEG, JPEG, lossy JPEG (DNG), WebP


def read_tiff(data: bytes) -> Header:
    """Width and height of the first page; tile size when tiled; refuse DNG raw files."""
    order: Literal["little", "big"] = "little" if data[:2] == b"II" else "big"
    big = int.from_bytes(data[2:4], order) == 43
    if big:
        if len(data) < 16:
            raise truncated("TIFF", "the header is cut off")
        offset = int.from_bytes(data[8:16], order)
        count_size, entry_size, inline = 8, 20, 8  # IFD entry count, entry size, inline value bytes
    else:
        if len(data) < 8:
            raise truncated("TIFF", "the header is cut off")
        offset = int.from_bytes(data[4:8], order)
        count_size, entry_size, inline = 2, 12, 4
    if offset < 8:
        raise corrupt("TIFF", "the first IFD offset points into the header")
    if offset + count_size > len(data):
        raise truncated("TIFF", "the first IFD lies beyond the end of the data")
    count = int.from_bytes(data[offset : offset + count_size], order)
    if count == 0 or count > _MAX_ENTRIES:
        raise corrupt("TIFF", f"the first IFD has {count} entries")
    start = offset + count_size
    if start + count * entry_size > len(data):
        raise truncated("TIFF", "the first IFD is cut off")
    tags: dict[int, int] = {}
    for k in range(count):
        e = start + k * entry_size
        tag = int.from_bytes(data[e : e + 2], order)
        kind = int.from_bytes(data[e + 2 : e + 4], order)
        # An entry is tag(2) type(2) count(4 or 8) value-or-offset(4 or 8).
        n = int.from_bytes(data[e + 4 : e + 4 + inline], order)
        size = _TYPE_SIZES.get(kind)
        # Only single integers stored inline matter here (dimensions, tiles, compression).
        if size is not None and n >= 1 and size * n <= inline:
            value_at = e + 4 + inline
            tags[tag] = int.from_bytes(data[value_at : value_at + size], order)
        elif tag == _DNG_VERSION:
            tags[tag] = 1
    if _DNG_VERSION in tags:
        raise UnsupportedFormat("DNG raw camera files are not accepted; upload a JPEG or a TIFF")
    width, height = tags.get(256, 0), tags.get(257, 0)
    if width == 0 or height == 0:
        raise corrupt("TIFF", "the first page has no valid width or height")
    tile = tags.get(322, 0) * tags.get(323, 0)
    return Header(
        "tiff",
        width,
        height,
        lossless=tags.get(259, 1) not in _LOSSY_COMPRESSIONS,
        max_frame_pixels=tile,
    )
