"""The GIF header reader, block by block: screen, colour tables, extensions, frames, trailer."""

from __future__ import annotations

import struct

import pytest

from picstore.errors import CorruptImage, TruncatedImage
from picstore.ingest.headers import Header, read_header


def screen(width: int = 10, height: int = 20, packed: int = 0, table: bytes = b"") -> bytes:
    return b"GIF89a" + struct.pack("<HHBBB", width, height, packed, 0, 0) + table


def frame(
    width: int = 10, height: int = 20, packed: int = 0, table: bytes = b"", data: bytes = b"\x02\x01\x00\x00"
) -> bytes:
    # Descriptor (x, y, width, height, packed), local colour table, LZW code size, sub-blocks, terminator.
    return b"\x2c" + struct.pack("<HHHHB", 0, 0, width, height, packed) + table + data


def extension(*sub_blocks: bytes) -> bytes:
    return b"\x21\xf9" + b"".join(bytes([len(b)]) + b for b in sub_blocks) + b"\x00"


TRAILER = b"\x3b"


def read(data: bytes) -> Header:
    return read_header(data, "gif")


def truncated(what: str) -> str:
    return f"the GIF data is truncated ({what}); upload the complete file (was the transfer cut short?)"


def corrupt(what: str) -> str:
    return f"the GIF data is corrupt ({what}); the image cannot be decoded"


def test_a_still_gif() -> None:
    header = read(screen(0x0102, 0x0304) + frame(3, 4) + TRAILER)
    assert (header.format, header.width, header.height) == ("gif", 0x0102, 0x0304)
    assert (header.frames, header.lossless, header.max_frame_pixels, header.deferred) == (1, True, 12, None)


def test_frames_and_the_largest_one() -> None:
    header = read(screen() + frame(2, 3) + extension(b"abcd") + frame(5, 7) + frame(4, 4) + TRAILER)
    assert (header.frames, header.max_frame_pixels) == (3, 35)


@pytest.mark.parametrize(("size", "what"), [(12, "cut"), (13, "walk")])
def test_the_screen_descriptor_must_be_complete(size: int, what: str) -> None:
    data = screen()[:size]
    if what == "cut":
        with pytest.raises(TruncatedImage) as caught:
            read(data)
        assert caught.value.message == truncated("the screen descriptor is cut off")
    else:  # complete, then nothing: the fault is kept for after the pixel limits
        header = read(data)
        assert (header.frames, header.max_frame_pixels) == (1, 0)
        assert isinstance(header.deferred, TruncatedImage)
        assert header.deferred.message == truncated("the data ends before the GIF trailer")


@pytest.mark.parametrize(("width", "height"), [(0, 20), (10, 0)])
def test_an_empty_screen_is_corrupt(width: int, height: int) -> None:
    with pytest.raises(CorruptImage) as caught:
        read(screen(width, height) + frame() + TRAILER)
    assert caught.value.message == corrupt(f"the screen is {width}x{height}")


def test_a_gif_without_any_image_is_corrupt() -> None:
    with pytest.raises(CorruptImage) as caught:
        read(screen() + extension(b"x") + TRAILER)
    assert caught.value.message == corrupt("no image in the file")


@pytest.mark.parametrize("bits", range(8))
def test_colour_tables_are_skipped_by_their_declared_size(bits: int) -> None:
    # The tables are full of trailer bytes: a wrong size would end the walk early or land inside them.
    table = TRAILER * (3 << (bits + 1))
    header = read(
        screen(packed=0x80 | bits, table=table) + frame(3, 3, packed=0x80 | bits, table=table) + TRAILER
    )
    assert (header.width, header.height) == (10, 20)  # the packed byte after them is not part of them
    assert (header.frames, header.max_frame_pixels, header.deferred) == (1, 9, None)


def test_size_bits_without_the_table_flag_mean_no_table() -> None:
    header = read(screen(packed=0x07) + frame(3, 3, packed=0x07) + TRAILER)
    assert (header.frames, header.deferred) == (1, None)


def test_extensions_and_data_sub_blocks_are_skipped() -> None:
    data = screen() + extension(b"\x3b" * 5, b"\x2c" * 255) + frame(data=b"\x02\x03abc\x01\x3b\x00") + TRAILER
    header = read(data)
    assert (header.frames, header.deferred) == (1, None)


def _deferred(data: bytes) -> Exception | None:
    return read(data).deferred


def test_faults_after_the_geometry_are_deferred() -> None:
    cut = _deferred(screen() + frame() + frame()[:9])
    assert isinstance(cut, TruncatedImage) and cut.message == truncated("an image descriptor is cut off")
    cut = _deferred(screen() + frame() + frame()[:10])  # a complete descriptor, then the data is missing
    assert isinstance(cut, TruncatedImage) and cut.message == truncated("the data ends inside a data block")
    cut = _deferred(screen() + frame() + frame()[:11])  # and with its LZW code size byte
    assert isinstance(cut, TruncatedImage) and cut.message == truncated("the data ends inside a data block")
    cut = _deferred(screen() + frame() + extension(b"abc")[:-2])
    assert isinstance(cut, TruncatedImage) and cut.message == truncated("the data ends inside a data block")
    cut = _deferred(screen() + frame())
    assert isinstance(cut, TruncatedImage) and cut.message == truncated(
        "the data ends before the GIF trailer"
    )
    bad = _deferred(screen() + frame() + b"\x00" + TRAILER)
    assert isinstance(bad, CorruptImage) and bad.message == corrupt("unknown block type 0x00")


def test_frames_seen_before_a_fault_still_count() -> None:
    # A bomb is refused as a bomb even when its file is cut: the frames read so far are kept.
    header = read(screen() + frame(100, 100) + frame(300, 200) + frame()[:5])
    assert (header.frames, header.max_frame_pixels) == (2, 60_000)
    assert isinstance(header.deferred, TruncatedImage)
