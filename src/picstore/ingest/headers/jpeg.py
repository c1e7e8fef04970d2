"""JPEG: walk the markers up to the first frame header (SOF), as libjpeg does."""

from __future__ import annotations

from picstore.errors import UnsupportedFormat
from picstore.ingest.headers.base import Header, corrupt, truncated, u16be

# SOF markers that libjpeg-turbo decodes and browsers display: baseline, extended, progressive, and
# their arithmetic-coded twins (browsers cannot show those, but we only store re-encoded pixels).
_SOF_DECODED = frozenset({0xC0, 0xC1, 0xC2, 0xC9, 0xCA})
# Lossless and hierarchical JPEG: valid, rare, not decodable by browsers or our loader.
_SOF_REFUSED = frozenset({0xC3, 0xC5, 0xC6, 0xC7, 0xCB, 0xCD, 0xCE, 0xCF})
_STANDALONE = frozenset({0x01, 0xD8, *range(0xD0, 0xD8)})


def read_jpeg(data: bytes) -> Header:
    """Width, height and sample precision from the first SOF; MPO files are read as their first image."""
    n = len(data)
    i = 2
    while True:
        # Like libjpeg's next_marker: skip junk up to 0xFF, then any 0xFF fill bytes; FF00 is junk too.
        i = data.find(b"\xff", i)
        if i < 0:
            raise truncated("JPEG", "no frame header before the end of the data")
        while i < n and data[i] == 0xFF:
            i += 1
        if i >= n:
            raise truncated("JPEG", "no frame header before the end of the data")
        marker = data[i]
        i += 1
        if marker == 0x00 or marker in _STANDALONE:
            continue
        if marker == 0xD9:
            raise corrupt("JPEG", "the image ends before its frame header")
        if marker == 0xDA:
            raise corrupt("JPEG", "scan data before the frame header")
        if i + 2 > n:
            raise truncated("JPEG", "a marker segment is cut off")
        length = u16be(data, i)
        if length < 2:
            raise corrupt("JPEG", f"marker segment 0x{marker:02X} has length {length}")
        if marker in _SOF_DECODED or marker in _SOF_REFUSED:
            if i + 8 > n:
                raise truncated("JPEG", "the frame header is cut off")
            return _frame(data, i, marker)
        i += length


def _frame(data: bytes, i: int, marker: int) -> Header:
    precision = data[i + 2]
    height = u16be(data, i + 3)
    width = u16be(data, i + 5)
    components = data[i + 7]
    if marker in _SOF_REFUSED:
        kind = "lossless" if marker in (0xC3, 0xCB) else "hierarchical"
        raise UnsupportedFormat(f"{kind} JPEG is not accepted; upload a baseline or progressive JPEG")
    if precision != 8:
        raise UnsupportedFormat(
            f"{precision}-bit JPEG is not accepted (browsers cannot display it); upload an 8-bit JPEG"
        )
    if width == 0:
        raise corrupt("JPEG", "the frame header declares a width of 0")
    if height == 0:
        raise UnsupportedFormat("JPEG whose height is set by a DNL marker is not accepted")
    if components not in (1, 3, 4):
        raise corrupt("JPEG", f"{components} colour components")
    return Header("jpeg", width, height)
