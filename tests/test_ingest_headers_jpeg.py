"""The JPEG header reader, marker by marker: what is skipped, what is a frame header, what is refused."""

from __future__ import annotations

import struct

import pytest

from picstore.errors import CorruptImage, TruncatedImage, UnsupportedFormat
from picstore.ingest.headers import Header, read_header

SOI = b"\xff\xd8"


def _segment(marker: int, body: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", 2 + len(body)) + body


def _sof(
    width: int = 64, height: int = 48, *, marker: int = 0xC0, precision: int = 8, components: int = 3
) -> bytes:
    body = bytes([precision]) + struct.pack(">HH", height, width) + bytes([components])
    return _segment(marker, body + b"\x01\x22\x00" * components)


def _truncated(data: bytes) -> str:
    with pytest.raises(TruncatedImage) as caught:
        read_header(data, "jpeg")
    assert caught.value.code == "truncated_image"
    return caught.value.message


def _corrupt(data: bytes) -> str:
    with pytest.raises(CorruptImage) as caught:
        read_header(data, "jpeg")
    assert caught.value.code == "corrupt_image"
    return caught.value.message


def _unsupported(data: bytes) -> str:
    with pytest.raises(UnsupportedFormat) as caught:
        read_header(data, "jpeg")
    return caught.value.message


def truncated_message(what: str) -> str:
    return f"the JPEG data is truncated ({what}); upload the complete file (was the transfer cut short?)"


def corrupt_message(what: str) -> str:
    return f"the JPEG data is corrupt ({what}); the image cannot be decoded"


@pytest.mark.parametrize("marker", [0xC0, 0xC1, 0xC2, 0xC9, 0xCA])
def test_frame_headers_that_are_decoded(marker: int) -> None:
    assert read_header(SOI + _sof(640, 480, marker=marker), "jpeg") == Header("jpeg", 640, 480)


def test_width_and_height_are_read_big_endian_from_their_offsets() -> None:
    assert read_header(SOI + _sof(0x0102, 0x0304), "jpeg") == Header("jpeg", 0x0102, 0x0304)


@pytest.mark.parametrize(
    ("marker", "kind"),
    [
        (0xC3, "lossless"),
        (0xCB, "lossless"),
        (0xC5, "hierarchical"),
        (0xC6, "hierarchical"),
        (0xC7, "hierarchical"),
        (0xCD, "hierarchical"),
        (0xCE, "hierarchical"),
        (0xCF, "hierarchical"),
    ],
)
def test_frame_headers_that_are_refused(marker: int, kind: str) -> None:
    assert _unsupported(SOI + _sof(marker=marker)) == (
        f"{kind} JPEG is not accepted; upload a baseline or progressive JPEG"
    )


@pytest.mark.parametrize("marker", [0xC4, 0xC8, 0xCC, 0xDB, 0xDD, 0xE0, 0xE1, 0xEF, 0xFE, 0x02, 0xBF])
def test_other_segments_are_skipped_by_their_length(marker: int) -> None:
    # The body looks like a frame header of another size: read as one, it would give 9x9.
    decoy = b"\x08\x00\x09\x00\x09\x03" + b"\x00" * 10
    assert read_header(SOI + _segment(marker, decoy) + _sof(64, 48), "jpeg") == Header("jpeg", 64, 48)


@pytest.mark.parametrize("marker", [0x01, 0xD8, *range(0xD0, 0xD8)])
def test_standalone_markers_have_no_length(marker: int) -> None:
    assert read_header(SOI + bytes([0xFF, marker]) + _sof(64, 48), "jpeg").width == 64


def test_fill_bytes_and_stuffed_zeros_between_markers_are_skipped() -> None:
    data = SOI + b"\xff\x00junk\xff\xff\xff" + _sof(64, 48)[1:]  # FF00, junk, then FF fill before C0
    assert read_header(data, "jpeg").width == 64


def test_the_frame_header_may_follow_the_start_marker_directly() -> None:
    assert read_header(SOI + _sof(7, 5), "jpeg") == Header("jpeg", 7, 5)


def test_an_empty_segment_is_allowed() -> None:
    assert read_header(SOI + _segment(0xE0, b"") + _sof(64, 48), "jpeg").width == 64


@pytest.mark.parametrize("length", [0, 1])
def test_a_segment_shorter_than_its_length_field_is_corrupt(length: int) -> None:
    data = SOI + b"\xff\xe0" + struct.pack(">H", length) + _sof()
    assert _corrupt(data) == corrupt_message(f"marker segment 0xE0 has length {length}")


def test_end_of_image_and_scan_before_the_frame_header_are_corrupt() -> None:
    assert _corrupt(SOI + b"\xff\xd9" + _sof()) == corrupt_message("the image ends before its frame header")
    assert _corrupt(SOI + b"\xff\xda" + _sof()) == corrupt_message("scan data before the frame header")


@pytest.mark.parametrize(
    "data", [SOI, SOI + b"junk", SOI + b"\xff", SOI + b"\xff\xff\xff", SOI + _segment(0xE0, b"abc")]
)
def test_no_frame_header_before_the_end(data: bytes) -> None:
    assert _truncated(data) == truncated_message("no frame header before the end of the data")


def test_a_length_field_cut_off() -> None:
    assert _truncated(SOI + b"\xff\xe0\x00") == truncated_message("a marker segment is cut off")
    # Two bytes of length are enough to read it (and then find nothing after it).
    assert _truncated(SOI + b"\xff\xe0\x00\x02") == truncated_message(
        "no frame header before the end of the data"
    )


@pytest.mark.parametrize(("keep", "complete"), [(9, True), (8, False), (3, False)])
def test_a_frame_header_cut_off(keep: int, complete: bool) -> None:
    # Marker, length (2), precision, height (2), width (2), components: 8 bytes after the marker.
    data = SOI + _sof(64, 48)[: keep + 1]
    if complete:
        assert read_header(data, "jpeg") == Header("jpeg", 64, 48)
    else:
        assert _truncated(data) == truncated_message("the frame header is cut off")


@pytest.mark.parametrize(("precision", "ok"), [(8, True), (12, False), (16, False), (7, False)])
def test_only_8_bit_samples(precision: int, ok: bool) -> None:
    data = SOI + _sof(precision=precision)
    if ok:
        assert read_header(data, "jpeg").width == 64
    else:
        assert _unsupported(data) == (
            f"{precision}-bit JPEG is not accepted (browsers cannot display it); upload an 8-bit JPEG"
        )


def test_zero_width_and_height() -> None:
    assert _corrupt(SOI + _sof(width=0)) == corrupt_message("the frame header declares a width of 0")
    assert _unsupported(SOI + _sof(height=0)) == "JPEG whose height is set by a DNL marker is not accepted"
    assert read_header(SOI + _sof(1, 1), "jpeg") == Header("jpeg", 1, 1)


@pytest.mark.parametrize(
    ("components", "ok"), [(0, False), (1, True), (2, False), (3, True), (4, True), (5, False)]
)
def test_colour_components(components: int, ok: bool) -> None:
    data = SOI + _sof(components=components)
    if ok:
        assert read_header(data, "jpeg").width == 64
    else:
        assert _corrupt(data) == corrupt_message(f"{components} colour components")
