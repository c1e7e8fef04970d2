"""The TIFF/BigTIFF header reader: the first IFD, the tags that matter, and each refusal at its edge."""

from __future__ import annotations

from typing import Literal

import pytest

from picstore.errors import CorruptImage, TruncatedImage, UnsupportedFormat
from picstore.ingest.headers import Header, read_header

Order = Literal["little", "big"]
Entry = tuple[int, int, int, bytes]  # tag, type, count, value field (padded to the inline size)


def tiff(entries: list[Entry], *, order: str = "II", big: bool = False, count: int | None = None) -> bytes:
    """A TIFF whose first IFD (at offset 8, or 16 for BigTIFF) holds ``entries``; no next-IFD offset."""
    e: Order = "little" if order == "II" else "big"
    inline = 8 if big else 4
    if big:
        head = order.encode() + (43).to_bytes(2, e) + (8).to_bytes(2, e) + b"\x00\x00" + (16).to_bytes(8, e)
    else:
        head = order.encode() + (42).to_bytes(2, e) + (8).to_bytes(4, e)
    ifd = (len(entries) if count is None else count).to_bytes(8 if big else 2, e)
    for tag, kind, n, value in entries:
        ifd += tag.to_bytes(2, e) + kind.to_bytes(2, e) + n.to_bytes(inline, e)
        ifd += value.ljust(inline, b"\x00")[:inline]
    return head + ifd


def short(tag: int, value: int, order: Order = "little") -> Entry:
    return (tag, 3, 1, value.to_bytes(2, order))


def long(tag: int, value: int, order: Order = "little") -> Entry:
    return (tag, 4, 1, value.to_bytes(4, order))


SIZE = [short(256, 300), short(257, 200)]


def truncated(what: str) -> str:
    return f"the TIFF data is truncated ({what}); upload the complete file (was the transfer cut short?)"


def corrupt(what: str) -> str:
    return f"the TIFF data is corrupt ({what}); the image cannot be decoded"


def refused(data: bytes, error: type[Exception]) -> str:
    with pytest.raises(error) as caught:  # type: ignore[var-annotated]
        read_header(data, "tiff")
    return str(caught.value.message)  # type: ignore[attr-defined]


@pytest.mark.parametrize("order", ["II", "MM"])
@pytest.mark.parametrize("big", [False, True])
def test_first_page_size_in_either_byte_order_and_layout(order: str, big: bool) -> None:
    e: Order = "little" if order == "II" else "big"
    data = tiff([short(256, 0x0102, e), long(257, 0x030405, e)], order=order, big=big)
    assert read_header(data, "tiff") == Header("tiff", 0x0102, 0x030405, lossless=True, max_frame_pixels=0)


@pytest.mark.parametrize(
    ("kind", "value", "read"),
    [
        (1, b"\x07\xff\xff\xff", 7),  # BYTE: one byte, the rest of the field is not part of it
        (3, b"\x07\x01\xff\xff", 0x0107),  # SHORT
        (8, b"\x07\x01\xff\xff", 0x0107),  # SSHORT
        (4, b"\x07\x01\x02\x00", 0x020107),  # LONG
        (9, b"\x07\x01\x02\x00", 0x020107),  # SLONG
    ],
)
def test_integer_types_are_read_at_their_size(kind: int, value: bytes, read: int) -> None:
    assert read_header(tiff([(256, kind, 1, value), short(257, 5)]), "tiff").width == read


@pytest.mark.parametrize("kind", [16, 17])
def test_8_byte_integers_fit_inline_only_in_bigtiff(kind: int) -> None:
    entry = (256, kind, 1, (300).to_bytes(8, "little"))
    assert read_header(tiff([entry, short(257, 5)], big=True), "tiff").width == 300
    assert refused(tiff([entry, short(257, 5)]), CorruptImage) == corrupt(
        "the first page has no valid width or height"
    )


@pytest.mark.parametrize(
    ("kind", "count", "used"),
    [
        (3, 0, False),  # no value
        (3, 1, True),
        (3, 2, True),  # two shorts fill the 4 inline bytes: the first is the value
        (3, 3, False),  # six bytes: stored elsewhere, at an offset
        (4, 2, False),
        (2, 1, False),  # ASCII
        (5, 1, False),  # RATIONAL
        (11, 1, False),  # FLOAT
    ],
)
def test_only_single_inline_integers_are_read(kind: int, count: int, used: bool) -> None:
    data = tiff([(256, kind, count, (300).to_bytes(4, "little")), short(257, 5)])
    if used:
        assert read_header(data, "tiff").width == 300
    else:
        assert refused(data, CorruptImage) == corrupt("the first page has no valid width or height")


@pytest.mark.parametrize(
    "entry", [(50706, 1, 4, b"\x01\x04\x00\x00"), (50706, 1, 5, b"\x08\x00\x00\x00"), (50706, 2, 1, b"1")]
)
def test_dng_is_refused_whatever_its_version_tag_looks_like(entry: Entry) -> None:
    assert refused(tiff([*SIZE, entry]), UnsupportedFormat) == (
        "DNG raw camera files are not accepted; upload a JPEG or a TIFF"
    )


@pytest.mark.parametrize("entries", [[short(256, 300)], [short(257, 200)], [short(256, 0), short(257, 5)]])
def test_a_page_needs_a_width_and_a_height(entries: list[Entry]) -> None:
    assert refused(tiff(entries), CorruptImage) == corrupt("the first page has no valid width or height")


def test_tiles_are_the_largest_frame() -> None:
    assert read_header(tiff([*SIZE, long(322, 256), long(323, 128)]), "tiff").max_frame_pixels == 256 * 128
    assert read_header(tiff([*SIZE, long(322, 256)]), "tiff").max_frame_pixels == 0
    assert read_header(tiff([*SIZE, long(323, 128)]), "tiff").max_frame_pixels == 0


@pytest.mark.parametrize(
    ("compression", "lossless"),
    [(1, True), (5, True), (8, True), (6, False), (7, False), (34892, False), (50001, False)],
)
def test_lossy_compressions(compression: int, lossless: bool) -> None:
    assert read_header(tiff([*SIZE, short(259, compression)]), "tiff").lossless is lossless


@pytest.mark.parametrize(("big", "size"), [(False, 7), (True, 15)])
def test_a_header_cut_off(big: bool, size: int) -> None:
    assert refused(tiff(SIZE, big=big)[:size], TruncatedImage) == truncated("the header is cut off")


@pytest.mark.parametrize(("big", "size"), [(False, 8), (True, 16)])
def test_a_complete_header_then_nothing(big: bool, size: int) -> None:
    assert refused(tiff(SIZE, big=big)[:size], TruncatedImage) == truncated(
        "the first IFD lies beyond the end of the data"
    )


@pytest.mark.parametrize(("offset", "ok"), [(7, False), (8, True)])
def test_the_first_ifd_cannot_overlap_the_header(offset: int, ok: bool) -> None:
    data = bytearray(tiff(SIZE))
    data[4:8] = offset.to_bytes(4, "little")
    if ok:
        assert read_header(bytes(data), "tiff").width == 300
    else:
        assert refused(bytes(data), CorruptImage) == corrupt("the first IFD offset points into the header")


@pytest.mark.parametrize("big", [False, True])
def test_the_ifd_entry_count_must_be_there(big: bool) -> None:
    data = tiff(SIZE, big=big)
    count_end = 10 if not big else 24
    assert refused(data[: count_end - 1], TruncatedImage) == truncated(
        "the first IFD lies beyond the end of the data"
    )
    assert refused(data[:count_end], TruncatedImage) == truncated("the first IFD is cut off")
    assert refused(data[:-1], TruncatedImage) == truncated("the first IFD is cut off")
    assert read_header(data, "tiff").width == 300


def test_entry_count_bounds() -> None:
    filler = [short(300 + k, 1) for k in range(4095)]
    assert refused(tiff([], count=0), CorruptImage) == corrupt("the first IFD has 0 entries")
    # One entry passes the count check (and then lacks a height).
    assert refused(tiff([short(256, 300)]), CorruptImage) == corrupt(
        "the first page has no valid width or height"
    )
    assert read_header(tiff([*SIZE, *filler[:4094]]), "tiff").width == 300  # 4096 entries
    assert refused(tiff([*SIZE, *filler]), CorruptImage) == corrupt("the first IFD has 4097 entries")
