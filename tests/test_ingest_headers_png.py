"""The PNG/APNG header reader, chunk by chunk: IHDR's rules, the walk to IDAT, and APNG's frames."""

from __future__ import annotations

import struct
import zlib

import pytest

from picstore.errors import CorruptImage, TruncatedImage
from picstore.ingest.headers import Header, read_header

SIGNATURE = b"\x89PNG\r\n\x1a\n"


def chunk(kind: bytes, body: bytes = b"", *, crc: int | None = None) -> bytes:
    value = zlib.crc32(kind + body) if crc is None else crc
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", value)


def ihdr(width: int = 8, height: int = 8, depth: int = 8, colour: int = 2, *rest: int) -> bytes:
    return chunk(b"IHDR", struct.pack(">IIBB", width, height, depth, colour) + bytes(rest or (0, 0, 0)))


IDAT = chunk(b"IDAT", zlib.compress(b"\x00" * 4))
IEND = chunk(b"IEND")


def actl(frames: int) -> bytes:
    return chunk(b"acTL", struct.pack(">II", frames, 0))


def fctl(width: int = 8, height: int = 8, x: int = 0, y: int = 0, *, pad: bytes = b"") -> bytes:
    return chunk(b"fcTL", struct.pack(">IIIII", 0, width, height, x, y) + b"\x00" * 6 + pad)


def png(*chunks: bytes, header: bytes | None = None) -> bytes:
    return SIGNATURE + (ihdr() if header is None else header) + b"".join(chunks)


def _refused(data: bytes, error: type[Exception]) -> str:
    with pytest.raises(error) as caught:  # type: ignore[var-annotated]
        read_header(data, "png")
    return str(caught.value.message)  # type: ignore[attr-defined]


def truncated(fmt: str, what: str) -> str:
    return f"the {fmt} data is truncated ({what}); upload the complete file (was the transfer cut short?)"


def corrupt(fmt: str, what: str) -> str:
    return f"the {fmt} data is corrupt ({what}); the image cannot be decoded"


def test_a_still_png() -> None:
    header = read_header(png(IDAT, IEND, header=ihdr(0x0102, 0x0304)), "png")
    assert header == Header("png", 0x0102, 0x0304, frames=1, lossless=True, animation=False)


@pytest.mark.parametrize(("size", "complete"), [(33, True), (32, False)])
def test_the_ihdr_must_be_complete(size: int, complete: bool) -> None:
    data = png(header=ihdr())[:size]
    if complete:  # the header chunk is whole: what is missing next is the image data
        assert _refused(data, TruncatedImage) == truncated("PNG", "the data ends before the image data")
    else:
        assert _refused(data, TruncatedImage) == truncated("PNG", "the header chunk is cut off")


@pytest.mark.parametrize(
    "header",
    [
        chunk(b"IHDx", struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0)),
        chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0) + b"\x00"),  # 14 bytes long
    ],
)
def test_the_first_chunk_must_be_a_13_byte_ihdr(header: bytes) -> None:
    assert _refused(png(IDAT, IEND, header=header), CorruptImage) == corrupt(
        "PNG", "the first chunk is not a valid IHDR"
    )


@pytest.mark.parametrize(
    ("width", "height", "ok"),
    [
        (0, 8, False),
        (8, 0, False),
        (1, 1, True),
        (2**31 - 1, 1, True),
        (1, 2**31 - 1, True),
        (2**31, 1, False),
        (1, 2**31, False),
    ],
)
def test_dimensions(width: int, height: int, ok: bool) -> None:
    data = png(IDAT, IEND, header=ihdr(width, height))
    if ok:
        assert read_header(data, "png").pixels == width * height
    else:
        assert _refused(data, CorruptImage) == corrupt("PNG", f"IHDR declares {width}x{height}")


VALID = {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}


@pytest.mark.parametrize(
    ("colour", "depth"), [(c, d) for c in (0, 1, 2, 3, 4, 5, 6, 7) for d in (0, 1, 2, 3, 4, 8, 16, 17)]
)
def test_colour_type_and_bit_depth(colour: int, depth: int) -> None:
    data = png(IDAT, IEND, header=ihdr(8, 8, depth, colour))
    if depth in VALID.get(colour, ()):
        assert read_header(data, "png").width == 8
    else:
        assert _refused(data, CorruptImage) == corrupt("PNG", f"colour type {colour} with bit depth {depth}")


@pytest.mark.parametrize(
    ("methods", "ok"),
    [((0, 0, 0), True), ((0, 0, 1), True), ((0, 0, 2), False), ((1, 0, 0), False), ((0, 1, 0), False)],
)
def test_compression_filter_and_interlace_methods(methods: tuple[int, int, int], ok: bool) -> None:
    data = png(IDAT, IEND, header=ihdr(8, 8, 8, 2, *methods))
    if ok:
        assert read_header(data, "png").width == 8
    else:
        assert _refused(data, CorruptImage) == corrupt(
            "PNG", "IHDR declares an unknown compression, filter or interlace method"
        )


def test_every_chunk_before_the_image_data_has_its_crc_checked() -> None:
    bad = chunk(b"tEXt", b"k\x00v", crc=1)
    assert _refused(png(bad, IDAT, IEND), CorruptImage) == corrupt("PNG", "bad CRC in the 'tEXt' chunk")
    bad_ihdr = ihdr()[:-1] + bytes([ihdr()[-1] ^ 1])
    assert _refused(png(IDAT, IEND, header=bad_ihdr), CorruptImage) == corrupt(
        "PNG", "bad CRC in the 'IHDR' chunk"
    )


def test_chunks_cut_off_before_the_image_data() -> None:
    text = chunk(b"tEXt", b"k\x00v")
    assert _refused(png(text[:-1]), TruncatedImage) == truncated("PNG", "the 'tEXt' chunk is cut off")
    assert read_header(png(text, IDAT, IEND), "png").width == 8  # exactly complete
    assert _refused(png(text[:8]), TruncatedImage) == truncated("PNG", "the 'tEXt' chunk is cut off")
    assert _refused(png(text[:7]), TruncatedImage) == truncated("PNG", "the data ends before the image data")


def test_a_still_png_needs_its_iend() -> None:
    assert _refused(png(IDAT), TruncatedImage) == truncated(
        "PNG", "no IEND chunk: the data ends inside the image data"
    )
    assert read_header(png(IDAT, b"IEND"), "png").width == 8  # found after the first IDAT
    before = chunk(b"tEXt", b"IEND")  # the word before the image data is not the chunk
    assert _refused(png(before, IDAT), TruncatedImage) == truncated(
        "PNG", "no IEND chunk: the data ends inside the image data"
    )


@pytest.mark.parametrize(("frames", "animated"), [(1, True), (2, True), (3, True)])
def test_actl_declares_the_frames(frames: int, animated: bool) -> None:
    header = read_header(png(actl(frames), IDAT, IEND), "png")
    assert (header.frames, header.animation, header.animated) == (frames, animated, True)


def test_a_single_frame_that_is_the_default_image_is_a_still_png() -> None:
    header = read_header(png(actl(1), fctl(), IDAT, IEND), "png")
    assert (header.frames, header.animation) == (1, False)
    two = read_header(png(actl(2), fctl(), IDAT, fctl(), IEND), "png")
    assert (two.frames, two.animation) == (2, True)


def test_actl_rules() -> None:
    assert _refused(png(actl(0), IDAT, IEND), CorruptImage) == corrupt("APNG", "acTL declares zero frames")
    long_actl = chunk(b"acTL", struct.pack(">III", 2, 0, 0))
    assert _refused(png(long_actl, IDAT, IEND), CorruptImage) == corrupt(
        "PNG", "acTL chunk has the wrong length"
    )


def test_an_apng_walk_checks_every_chunk_to_iend() -> None:
    animated = (actl(2), IDAT)
    assert read_header(png(*animated, fctl(), chunk(b"fdAT", b"\x00" * 8), IEND), "png").frames == 2
    assert _refused(png(*animated, chunk(b"fdAT", b"x", crc=0), IEND), CorruptImage) == corrupt(
        "PNG", "bad CRC in the 'fdAT' chunk"
    )
    assert _refused(png(*animated), TruncatedImage) == truncated(
        "APNG", "the data ends before the IEND chunk"
    )
    assert _refused(png(*animated, IEND[:-1]), TruncatedImage) == truncated(
        "APNG", "the 'IEND' chunk is cut off"
    )
    assert _refused(png(*animated, IEND[:8]), TruncatedImage) == truncated(
        "APNG", "the 'IEND' chunk is cut off"
    )
    assert _refused(png(*animated, IEND[:7]), TruncatedImage) == truncated(
        "APNG", "the data ends before the IEND chunk"
    )


@pytest.mark.parametrize(
    ("frame", "ok"),
    [
        ((8, 8, 0, 0), True),
        ((4, 4, 4, 4), True),  # exactly to the corner
        ((4, 4, 5, 0), False),
        ((4, 4, 0, 5), False),
        ((9, 8, 0, 0), False),
        ((8, 9, 0, 0), False),
        ((0, 8, 0, 0), False),
        ((8, 0, 0, 0), False),
    ],
)
def test_fctl_frames_stay_inside_the_canvas(frame: tuple[int, int, int, int], ok: bool) -> None:
    data = png(actl(2), IDAT, fctl(*frame), IEND)
    if ok:
        assert read_header(data, "png").frames == 2
    else:
        w, h, x, y = frame
        assert _refused(data, CorruptImage) == corrupt(
            "APNG", f"a {w}x{h} frame at {x},{y} exceeds the 8x8 canvas"
        )


def test_fctl_must_be_26_bytes() -> None:
    assert _refused(png(actl(2), IDAT, fctl(pad=b"\x00"), IEND), CorruptImage) == corrupt(
        "APNG", "fcTL chunk has the wrong length"
    )
