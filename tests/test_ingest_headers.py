"""Header readers and limits: geometry and frame counts from hand-built headers, no decoding."""

from __future__ import annotations

import struct
import zlib

import pytest

from picstore.errors import CorruptImage, TooLarge, TooManyPixels, TruncatedImage, UnsupportedFormat
from picstore.ingest import IngestOptions
from picstore.ingest.headers import Header, read_header
from picstore.ingest.limits import check_bytes, check_pixels

# --- JPEG -----------------------------------------------------------------------------------------


def _jpeg(width: int, height: int, *, precision: int = 8, sof: int = 0xC0, before: bytes = b"") -> bytes:
    app0 = b"\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    frame = (
        bytes([precision]) + struct.pack(">HH", height, width) + b"\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    )
    return b"\xff\xd8" + app0 + before + bytes([0xFF, sof]) + struct.pack(">H", 2 + len(frame)) + frame


def test_jpeg_declared_size_from_sof() -> None:
    assert read_header(_jpeg(65500, 65500), "jpeg") == Header("jpeg", 65500, 65500)


def test_jpeg_junk_and_fill_bytes_between_markers_are_skipped_like_libjpeg() -> None:
    data = _jpeg(640, 480, before=b"junk\x00\xff\x00\xff\xff")
    assert read_header(data, "jpeg").pixels == 640 * 480


@pytest.mark.parametrize(("kwargs", "match"), [({"precision": 12}, "12-bit"), ({"sof": 0xC3}, "lossless")])
def test_jpeg_variants_browsers_cannot_show_are_unsupported(kwargs: dict[str, int], match: str) -> None:
    with pytest.raises(UnsupportedFormat, match=match):
        read_header(_jpeg(64, 64, **kwargs), "jpeg")


def test_jpeg_without_frame_header_is_truncated() -> None:
    with pytest.raises(TruncatedImage):
        read_header(b"\xff\xd8\xff\xe0\x00\x10JFIF", "jpeg")


# --- PNG ------------------------------------------------------------------------------------------


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png(width: int, height: int, *chunks: bytes, depth: int = 8, colour: int = 2) -> bytes:
    ihdr = _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0))
    return b"\x89PNG\r\n\x1a\n" + ihdr + b"".join(chunks)


IDAT = _chunk(b"IDAT", zlib.compress(b"\x00\x00\x00\x00"))
IEND = _chunk(b"IEND", b"")


def test_png_ihdr_geometry_and_a_pixel_flood() -> None:
    header = read_header(_png(60000, 60000, IDAT, IEND), "png")
    assert (header.width, header.height, header.frames, header.lossless) == (60000, 60000, 1, True)
    with pytest.raises(TooManyPixels, match=r"3,600\.0 MP"):
        check_pixels(header, IngestOptions())


def test_png_bad_depth_and_bad_crc_are_corrupt() -> None:
    with pytest.raises(CorruptImage, match="bit depth"):
        read_header(_png(8, 8, IDAT, IEND, depth=3), "png")
    broken = bytearray(_png(8, 8, IDAT, IEND))
    broken[29] ^= 0xFF  # inside IHDR's CRC
    with pytest.raises(CorruptImage, match="CRC"):
        read_header(bytes(broken), "png")


def test_png_cut_inside_the_image_data_is_truncated() -> None:
    with pytest.raises(TruncatedImage):
        read_header(_png(8, 8, IDAT), "png")


def _fctl(seq: int, w: int, h: int, x: int = 0, y: int = 0) -> bytes:
    return _chunk(b"fcTL", struct.pack(">IIIIIHHBB", seq, w, h, x, y, 1, 10, 0, 0))


def test_apng_frames_from_actl_and_frame_bounds_checked() -> None:
    actl = _chunk(b"acTL", struct.pack(">II", 3, 0))
    ok = _png(100, 50, actl, _fctl(0, 100, 50), IDAT, _fctl(1, 10, 10, 90, 40), IEND)
    header = read_header(ok, "png")
    assert (header.frames, header.animated) == (3, True)
    bad = _png(100, 50, actl, _fctl(0, 100, 50), IDAT, _fctl(1, 20, 20, 90, 40), IEND)
    with pytest.raises(CorruptImage, match="exceeds"):
        read_header(bad, "png")


def test_apng_with_zero_frames_is_corrupt() -> None:
    with pytest.raises(CorruptImage, match="zero frames"):
        read_header(_png(8, 8, _chunk(b"acTL", struct.pack(">II", 0, 0)), IDAT, IEND), "png")


# --- GIF ------------------------------------------------------------------------------------------


def _gif_frame(w: int, h: int) -> bytes:
    return b"\x2c" + struct.pack("<HHHH", 0, 0, w, h) + b"\x00" + b"\x02" + b"\x02\x4c\x01" + b"\x00"


def _gif(width: int, height: int, *frames: bytes, trailer: bool = True) -> bytes:
    screen = b"GIF89a" + struct.pack("<HH", width, height) + b"\x80\x00\x00" + b"\x00\x00\x00\xff\xff\xff"
    return screen + b"".join(frames) + (b"\x3b" if trailer else b"")


def test_gif_counts_frames_to_the_trailer() -> None:
    header = read_header(_gif(2000, 2000, *[_gif_frame(2000, 2000)] * 5), "gif")
    assert (header.frames, header.max_frame_pixels, header.deferred) == (5, 4_000_000, None)
    with pytest.raises(TooManyPixels, match="over all frames"):
        check_pixels(header, IngestOptions(max_total_pixels=10_000_000))
    with pytest.raises(TooManyPixels, match="5 frames"):
        check_pixels(header, IngestOptions(max_frames=4))


def test_gif_cut_before_its_trailer_is_refused_after_the_limits() -> None:
    header = read_header(_gif(10, 10, _gif_frame(10, 10), trailer=False), "gif")
    assert isinstance(header.deferred, TruncatedImage)
    # ... but a frame bomb in the same cut file is named as a bomb first.
    bomb = read_header(_gif(10, 10, _gif_frame(65535, 65535)[:12]), "gif")
    with pytest.raises(TooManyPixels):
        check_pixels(bomb, IngestOptions())


# --- WebP, TIFF, ISO-BMFF -------------------------------------------------------------------------


def _riff(body: bytes, declared: int | None = None) -> bytes:
    return b"RIFF" + struct.pack("<I", declared or 4 + len(body)) + b"WEBP" + body


def test_webp_vp8x_canvas_and_truncation() -> None:
    vp8x = b"VP8X" + struct.pack("<I", 10) + b"\x00\x00\x00\x00" + (16382).to_bytes(3, "little") * 2
    header = read_header(_riff(vp8x), "webp")
    assert (header.width, header.height) == (16383, 16383)
    with pytest.raises(TruncatedImage, match="RIFF"):
        read_header(_riff(vp8x, declared=5000), "webp")


def _tiff(order: str, entries: list[tuple[int, int, int]]) -> bytes:
    e = "<" if order == "II" else ">"
    ifd = struct.pack(e + "H", len(entries))
    for tag, kind, value in entries:
        packed = struct.pack(e + "H", value) + b"\x00\x00" if kind == 3 else struct.pack(e + "I", value)
        ifd += struct.pack(e + "HHI", tag, kind, 1) + packed
    return order.encode() + struct.pack(e + "HI", 42, 8) + ifd + b"\x00\x00\x00\x00"


@pytest.mark.parametrize("order", ["II", "MM"])
def test_tiff_first_ifd_dimensions(order: str) -> None:
    header = read_header(_tiff(order, [(256, 3, 60000), (257, 4, 100000), (259, 3, 7)]), "tiff")
    assert (header.width, header.height, header.lossless) == (60000, 100000, False)
    header = read_header(
        _tiff(order, [(256, 4, 300), (257, 4, 200), (322, 4, 60000), (323, 4, 60000)]), "tiff"
    )
    assert (header.width, header.height, header.max_frame_pixels) == (300, 200, 3_600_000_000)
    with pytest.raises(TooManyPixels, match="tile"):
        check_pixels(header, IngestOptions())


def test_tiff_dng_and_broken_ifds_are_refused() -> None:
    with pytest.raises(UnsupportedFormat, match="DNG"):
        read_header(_tiff("II", [(256, 4, 10), (257, 4, 10), (50706, 1, 0x01040000)]), "tiff")
    with pytest.raises(TruncatedImage):
        read_header(b"II*\x00\xff\xff\x00\x00", "tiff")
    with pytest.raises(CorruptImage, match="width or height"):
        read_header(_tiff("II", [(259, 3, 1)]), "tiff")


def _box(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", 8 + len(body)) + kind + body


def _heif(item_type: bytes, width: int, height: int, *, brand: bytes = b"mif1") -> bytes:
    infe = _box(b"infe", b"\x02\x00\x00\x00" + b"\x00\x01" + b"\x00\x00" + item_type + b"\x00")
    iinf = _box(b"iinf", b"\x00\x00\x00\x00" + b"\x00\x01" + infe)
    ispe = _box(b"ispe", b"\x00\x00\x00\x00" + struct.pack(">II", width, height))
    meta = _box(b"meta", b"\x00\x00\x00\x00" + iinf + _box(b"iprp", _box(b"ipco", ispe)))
    return _box(b"ftyp", brand + b"\x00\x00\x00\x00" + b"mif1") + meta + _box(b"mdat", b"\x00" * 8)


def test_heif_codec_comes_from_the_item_type() -> None:
    assert read_header(_heif(b"av01", 20000, 20000), "heic") == Header("avif", 20000, 20000)
    assert read_header(_heif(b"hvc1", 4032, 3024), "heic") == Header("heic", 4032, 3024)
    with pytest.raises(UnsupportedFormat, match="jpeg"):
        read_header(_heif(b"jpeg", 64, 64), "heic")


def test_heif_box_running_past_the_end_is_truncated() -> None:
    with pytest.raises(TruncatedImage, match="mdat"):
        read_header(_heif(b"av01", 64, 64)[:-4], "avif")


def test_byte_limit() -> None:
    check_bytes(100, IngestOptions(max_bytes=100))
    with pytest.raises(TooLarge, match="101 bytes; the limit is 100") as info:
        check_bytes(101, IngestOptions(max_bytes=100))
    assert info.value.code == "too_large"
