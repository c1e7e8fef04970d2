"""The WebP header reader: simple lossy and lossless files, the extended format and its animation frames."""

from __future__ import annotations

import pytest

from picstore.errors import CorruptImage, TruncatedImage
from picstore.ingest.headers import Header, read_header


def u24(value: int) -> bytes:
    return value.to_bytes(3, "little")


def chunk(kind: bytes, body: bytes) -> bytes:
    return kind + len(body).to_bytes(4, "little") + body + (b"\x00" if len(body) & 1 else b"")


def riff(*chunks: bytes, size: int | None = None, after: bytes = b"") -> bytes:
    body = b"WEBP" + b"".join(chunks)
    return b"RIFF" + (len(body) if size is None else size).to_bytes(4, "little") + body + after


def vp8(width: int = 100, height: int = 50, start: bytes = b"\x9d\x01\x2a") -> bytes:
    return chunk(
        b"VP8 ", b"\x00\x00\x00" + start + width.to_bytes(2, "little") + height.to_bytes(2, "little")
    )


def vp8l(width: int = 100, height: int = 50, signature: int = 0x2F, high: int = 0) -> bytes:
    bits = (width - 1) | ((height - 1) << 14) | (high << 28)
    return chunk(b"VP8L", bytes([signature]) + bits.to_bytes(4, "little"))


def vp8x(width: int = 100, height: int = 50, *, animated: bool = False) -> bytes:
    flags = 0x02 if animated else 0x10  # animation, or alpha
    return chunk(b"VP8X", bytes([flags, 0, 0, 0]) + u24(width - 1) + u24(height - 1))


def anmf(*sub: bytes, x: int = 0, y: int = 0, width: int = 10, height: int = 10) -> bytes:
    head = u24(x // 2) + u24(y // 2) + u24(width - 1) + u24(height - 1) + u24(100) + b"\x00"
    return chunk(b"ANMF", head + b"".join(sub))


def read(data: bytes) -> Header:
    return read_header(data, "webp")


def refused(data: bytes, error: type[Exception]) -> str:
    with pytest.raises(error) as caught:  # type: ignore[var-annotated]
        read(data)
    return str(caught.value.message)  # type: ignore[attr-defined]


def truncated(what: str) -> str:
    return f"the WebP data is truncated ({what}); upload the complete file (was the transfer cut short?)"


def corrupt(what: str) -> str:
    return f"the WebP data is corrupt ({what}); the image cannot be decoded"


# --- the container ---------------------------------------------------------------------------------------


def test_the_riff_size_must_fit_the_upload() -> None:
    data = riff(vp8())
    assert read(data).width == 100
    assert refused(data[:-1], TruncatedImage) == truncated(
        f"the RIFF header declares {len(data)} bytes, the upload has {len(data) - 1}"
    )


@pytest.mark.parametrize(("size", "ok"), [(19, False), (20, True)])
def test_an_image_chunk_must_follow(size: int, ok: bool) -> None:
    data = riff(size=4, after=b"VP8L" + b"\x00" * 12)[:size]
    if ok:  # 20 bytes: the chunk header is there, its body is not
        assert refused(data, CorruptImage) == corrupt("bad VP8L signature")
    else:
        assert refused(data, TruncatedImage) == truncated("no image chunk")


def test_an_unknown_first_chunk() -> None:
    assert refused(riff(chunk(b"ALPH", b"\x00" * 12)), CorruptImage) == corrupt("unknown first chunk b'ALPH'")


# --- simple formats --------------------------------------------------------------------------------------


def test_lossy() -> None:
    assert read(riff(vp8(0x0123, 0x0234))) == Header("webp", 0x0123, 0x0234, lossless=False)
    assert read(riff(vp8(0xC000 | 100, 0x4000 | 50))).pixels == 100 * 50  # the 2 scale bits are not size


@pytest.mark.parametrize(
    "data", [riff(vp8(start=b"\x9d\x01\x2b")), riff(vp8(start=b"\x9c\x01\x2a")), riff(vp8())[:29]]
)
def test_a_bad_lossy_frame_header(data: bytes) -> None:
    if len(data) == 29:
        data = data[:4] + (21).to_bytes(4, "little") + data[8:]
    assert refused(data, CorruptImage) == corrupt("bad VP8 frame header")


@pytest.mark.parametrize(("width", "height"), [(0, 50), (100, 0)])
def test_a_lossy_frame_without_pixels(width: int, height: int) -> None:
    assert refused(riff(vp8(width, height)), CorruptImage) == corrupt(f"the frame is {width}x{height}")


def test_lossless() -> None:
    assert read(riff(vp8l(100, 50))) == Header("webp", 100, 50, lossless=True)
    assert read(riff(vp8l(16384, 1, high=0xF))).width == 16384  # 14 bits each; alpha/version bits ignored
    assert read(riff(vp8l(1, 16384))).height == 16384


def test_a_bad_lossless_signature() -> None:
    assert refused(riff(vp8l(signature=0x2E)), CorruptImage) == corrupt("bad VP8L signature")
    cut = riff(vp8l())[:24]
    assert refused(cut[:4] + (16).to_bytes(4, "little") + cut[8:], CorruptImage) == corrupt(
        "bad VP8L signature"
    )


# --- the extended format ---------------------------------------------------------------------------------


def test_extended_still_images() -> None:
    assert read(riff(vp8x(0x10203, 0x20304), vp8l())) == Header("webp", 0x10203, 0x20304, lossless=True)
    assert read(riff(vp8x(), chunk(b"ICCP", b"x"), vp8())).lossless is False
    header = read(riff(vp8x(), vp8l()))
    assert (header.frames, header.animation) == (1, False)


def test_the_vp8x_chunk_cut_off() -> None:
    data = riff(vp8x())
    assert read(data).width == 100  # exactly 30 bytes
    cut = data[:29]
    assert refused(cut[:4] + (21).to_bytes(4, "little") + cut[8:], TruncatedImage) == truncated(
        "the VP8X chunk is cut off"
    )


def test_animation_frames_and_losslessness() -> None:
    header = read(riff(vp8x(animated=True), anmf(vp8l()), anmf(vp8l(), x=10, width=4)))
    assert (header.frames, header.animation, header.lossless) == (2, True, True)
    assert read(riff(vp8x(animated=True), anmf(vp8l()), anmf(vp8()))).lossless is False
    assert read(riff(vp8x(animated=True), anmf(chunk(b"ALPH", b"a"), vp8l()))).lossless is True
    assert read(riff(vp8x(animated=True), anmf(vp8(), vp8l()))).lossless is False
    assert read(riff(vp8x(animated=True), anmf())).lossless is False  # no bitstream at all


def test_frames_in_a_file_not_flagged_as_animated_count_once() -> None:
    header = read(riff(vp8x(), anmf(vp8l()), anmf(vp8l())))
    assert (header.frames, header.animation) == (1, False)


def test_an_animation_without_frames() -> None:
    assert refused(riff(vp8x(animated=True), vp8l()), CorruptImage) == corrupt("an animation without frames")


@pytest.mark.parametrize(
    ("frame", "ok"),
    [
        ((0, 0, 100, 50), True),
        ((90, 40, 10, 10), True),  # to the corner exactly
        ((92, 0, 10, 10), False),
        ((0, 42, 10, 10), False),
        ((0, 0, 101, 10), False),
        ((0, 0, 10, 51), False),
    ],
)
def test_frames_stay_inside_the_canvas(frame: tuple[int, int, int, int], ok: bool) -> None:
    x, y, w, h = frame
    data = riff(vp8x(animated=True), anmf(vp8l(), x=x, y=y, width=w, height=h))
    if ok:
        assert read(data).frames == 1
    else:
        assert refused(data, CorruptImage) == corrupt(f"a {w}x{h} frame at {x},{y} exceeds the 100x50 canvas")


def test_an_anmf_chunk_too_short() -> None:
    short = chunk(b"ANMF", b"\x00" * 15)
    assert refused(riff(vp8x(animated=True), short), CorruptImage) == corrupt("ANMF chunk too short")
    assert read(riff(vp8x(animated=True), chunk(b"ANMF", b"\x00" * 16))).frames == 1


def test_a_chunk_cut_off_by_the_riff_end() -> None:
    frame = anmf(vp8l())
    data = riff(vp8x(animated=True), frame[:-1])
    assert refused(data, TruncatedImage) == truncated("the 'ANMF' chunk is cut off")


def test_chunks_after_the_riff_end_are_not_read() -> None:
    data = riff(vp8x(animated=True), anmf(vp8l()), after=anmf(vp8()))
    header = read(data)
    assert (header.frames, header.lossless) == (1, True)
    # A chunk header alone at the very end of the RIFF data: nothing to read.
    assert read(riff(vp8x(animated=True), anmf(vp8l()), b"XYZW")).frames == 1


def test_odd_sized_chunks_are_padded() -> None:
    data = riff(vp8x(animated=True), chunk(b"EXIF", b"abc"), anmf(chunk(b"ALPH", b"odd"), vp8l()))
    header = read(data)
    assert (header.frames, header.lossless) == (1, True)


def test_a_lossless_header_of_exactly_25_bytes() -> None:
    cut = riff(vp8l(30, 20))[:25]
    assert read(cut[:4] + (17).to_bytes(4, "little") + cut[8:]) == Header("webp", 30, 20, lossless=True)


def test_only_the_animation_flag_makes_an_animation() -> None:
    flags = chunk(b"VP8X", bytes([0x01 | 0x04 | 0x08 | 0x10 | 0x20, 0, 0, 0]) + u24(99) + u24(49))
    assert read(riff(flags, vp8l())).animation is False


def test_an_empty_chunk_at_the_riff_end_is_read() -> None:
    data = riff(vp8x(animated=True), anmf(vp8l()), chunk(b"ANMF", b""))
    assert refused(data, CorruptImage) == corrupt("ANMF chunk too short")


def test_an_empty_bitstream_at_the_end_of_a_frame_counts() -> None:
    assert read(riff(vp8x(animated=True), anmf(vp8l(), chunk(b"VP8 ", b"")))).lossless is False


def test_a_frame_is_read_only_to_its_own_end() -> None:
    # A frame without a bitstream of its own is not lossless because of the chunk after it.
    assert read(riff(vp8x(animated=True), anmf(), vp8l())).lossless is False
