"""Decoders outside libvips (ingest/frames.py): HEIC with pillow-heif, APNG and AVIF sequences with Pillow.

HEIC: 8 bits a sample whatever the source's depth, grey stays grey, an embedded profile reaches the colour
conversion. APNG: every frame the browser shows (not a default image outside the animation), each delay as
written (0 too), the loop count. Failures are refusals with the decoder's words, truncation told apart.
"""

from __future__ import annotations

import array
import io
import struct
import zlib

import pillow_heif
import pytest
import pyvips
from PIL import Image

from picstore.errors import CorruptImage, ImageRejected, TooManyPixels, TruncatedImage
from picstore.ingest import frames
from tests.helpers import FRAME_COLOURS, make_animation

COLOURS = FRAME_COLOURS


pytestmark = pytest.mark.usefixtures("libvips_ready")


def _heic(image: Image.Image | pillow_heif.HeifFile, **params: object) -> bytes:
    heif = pillow_heif.from_pillow(image) if isinstance(image, Image.Image) else image
    buf = io.BytesIO()
    heif.save(buf, format="HEIF", quality=95, **params)
    return buf.getvalue()


def _apng(durations: list[int], *, default_image: bool = False, loop: int = 0) -> bytes:
    return make_animation("PNG", durations, loop=loop, default_image=default_image)


def _frame_colours(strip: pyvips.Image) -> list[list[int]]:
    height = int(strip.get("page-height"))
    return [
        [round(strip.crop(0, y, strip.width, height)[b].avg()) for b in range(3)]
        for y in range(0, strip.height, height)
    ]


# --- HEIC ---------------------------------------------------------------------------------------------


def test_a_colour_heic_is_eight_bit_srgb() -> None:
    image = frames.load_heic(_heic(Image.new("RGB", (33, 20), (200, 100, 50))))
    assert (image.width, image.height, image.bands, image.format) == (33, 20, 3, "uchar")
    assert image.interpretation == "srgb"
    assert [abs(round(image[b].avg()) - c) <= 3 for b, c in enumerate((200, 100, 50))] == [True] * 3


def test_a_ten_bit_heic_is_decoded_to_eight_bits() -> None:
    samples = array.array("H", [(i * 37) % 65536 for i in range(33 * 20 * 3)])
    ten_bit = _heic(pillow_heif.from_bytes("RGB;16", (33, 20), samples.tobytes()))
    image = frames.load_heic(ten_bit)
    assert (image.bands, image.format, image.interpretation) == (3, "uchar", "srgb")


def test_a_grey_heic_stays_grey_and_alpha_is_kept() -> None:
    grey = frames.load_heic(_heic(Image.new("L", (16, 8), 90)))
    assert (grey.bands, grey.interpretation) == (1, "b-w")
    assert abs(grey.avg() - 90) <= 3
    rgba = frames.load_heic(_heic(Image.new("RGBA", (16, 8), (10, 20, 30, 128))))
    assert (rgba.bands, rgba.interpretation, rgba.hasalpha()) == (4, "srgb", True)


def test_a_heic_profile_is_attached_for_the_colour_conversion() -> None:
    p3 = (
        (pyvips.Image.black(16, 8, bands=3) + 9).cast("uchar").copy(interpretation="srgb").icc_transform("p3")
    )
    profile = bytes(p3.get("icc-profile-data"))
    with_profile = frames.load_heic(_heic(Image.new("RGB", (16, 8), (200, 30, 30)), icc_profile=profile))
    assert bytes(with_profile.get("icc-profile-data")) == profile
    without = frames.load_heic(_heic(Image.new("RGB", (16, 8), (200, 30, 30))))
    assert without.get_typeof("icc-profile-data") == 0


def test_a_heic_of_an_unsupported_pixel_layout_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    samples = array.array("H", [4096] * (16 * 8 * 3))
    ten_bit = _heic(pillow_heif.from_bytes("RGB;16", (16, 8), samples.tobytes()))
    # A decoder that keeps 16 bits a sample hands over a layout the pipeline does not take.
    real = pillow_heif.open_heif
    monkeypatch.setattr(pillow_heif, "open_heif", lambda data, **_: real(data, convert_hdr_to_8bit=False))
    with pytest.raises(CorruptImage) as refused:
        frames.load_heic(ten_bit)
    assert str(refused.value) == "the HEIC image has an unsupported pixel layout (RGB;16)"


def test_a_damaged_heic_is_refused_with_the_decoders_words() -> None:
    data = _heic(Image.new("RGB", (64, 64), (9, 9, 9)))[:300]
    try:
        pillow_heif.open_heif(data, convert_hdr_to_8bit=True).data  # noqa: B018 - decode the pixels
    except Exception as error:  # whatever pillow-heif raises: its words become the refusal's detail
        words = " ".join(str(error).split())
    else:
        pytest.fail("pillow-heif decoded a HEIC cut in half")
    with pytest.raises(ImageRejected) as refused:
        frames.load_heic(data)
    assert type(refused.value) in (TruncatedImage, CorruptImage)
    assert str(refused.value).startswith("the HEIC data is ")
    assert f"({words[:240]})" in str(refused.value)


def test_rows_lose_their_padding_only_when_there_is_some() -> None:
    assert frames._packed(b"abcXdefY", 4, 3, 2) == b"abcdef"
    assert bytes(frames._packed(b"abcdefZZ", 3, 3, 2)) == b"abcdef"  # unpadded rows: the first rows only


# --- APNG ---------------------------------------------------------------------------------------------


def test_an_apng_gives_every_frame_with_its_delay_and_the_loop_count() -> None:
    strip = frames.load_animation(_apng([0, 50, 70], loop=3), "png")
    assert (strip.width, strip.height, strip.get("page-height")) == (20, 30, 10)
    assert _frame_colours(strip) == [list(c) for c in COLOURS]
    assert list(strip.get("delay")) == [0, 50, 70]  # a 0 delay stays 0
    assert strip.get("loop") == 3
    assert strip.interpretation == "srgb"


def test_an_apng_of_two_frames_is_two_frames() -> None:
    strip = frames.load_animation(_apng([40, 60]), "png")
    assert _frame_colours(strip) == [list(c) for c in COLOURS[:2]]
    assert strip.get("loop") == 0


def test_an_apng_default_image_outside_the_animation_is_not_a_frame() -> None:
    strip = frames.load_animation(_apng([0, 50, 70], default_image=True), "png")
    assert _frame_colours(strip) == [list(c) for c in COLOURS[1:]]
    assert len(strip.get("delay")) == 2


def test_an_apng_whose_one_frame_replaces_nothing_is_that_frame() -> None:
    # A default image outside the animation and one animation frame: one frame is left.
    strip = frames.load_animation(_apng([0, 40], default_image=True), "png")
    assert (strip.height, strip.get("page-height")) == (10, 10)
    assert _frame_colours(strip) == [list(COLOURS[1])]


def _avif(durations: list[int]) -> bytes:
    return make_animation("AVIF", durations, loop=2, quality=90)


def test_an_avif_sequence_gives_every_frame_with_its_delay() -> None:
    strip = frames.load_animation(_avif([40, 60, 80]), "avif")
    assert (strip.width, strip.height, strip.get("page-height")) == (20, 30, 10)
    assert [
        [abs(a - b) <= 8 for a, b in zip(got, c, strict=True)]
        for got, c in zip(_frame_colours(strip), COLOURS, strict=True)
    ] == [[True] * 3] * 3
    assert list(strip.get("delay")) == [40, 60, 80]
    # Pillow does not read an AVIF sequence's repetition count: it plays forever, as loop 0 says.
    assert strip.get("loop") == 0


def test_a_damaged_avif_sequence_is_refused_as_avif() -> None:
    data = _avif([40, 60, 80])
    with pytest.raises(ImageRejected, match=r"^the AVIF data is (corrupt|truncated) "):
        frames.load_animation(data[: len(data) // 2], "avif")


def test_only_the_sniffed_formats_pillow_plugin_is_used() -> None:
    # An APNG handed over as AVIF is not opened by the PNG plugin: only the AVIF one may read it.
    with pytest.raises(CorruptImage, match=r"^the AVIF data is corrupt "):
        frames.load_animation(_apng([40, 60]), "avif")


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def test_an_apng_declaring_a_bomb_is_refused_as_too_many_pixels() -> None:
    ihdr = struct.pack(">IIBBBBB", 20_000, 20_000, 8, 2, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IEND", b"")
    with pytest.raises(TooManyPixels, match=r"^the APNG image declares too many pixels"):
        frames.load_animation(data, "png")


def test_a_truncated_apng_is_refused_as_truncated() -> None:
    data = _apng([40, 60, 80])
    with pytest.raises(TruncatedImage, match=r"^the APNG data is truncated .*; upload the complete file$"):
        frames.load_animation(data[: len(data) - 40], "png")


@pytest.mark.parametrize(
    ("error", "kind", "detail"),
    [
        (OSError("image file is truncated (3 bytes not processed)"), TruncatedImage, None),
        (EOFError("End of file"), TruncatedImage, None),
        (ValueError("not enough image data"), TruncatedImage, None),
        (SyntaxError("Unexpected end of data"), TruncatedImage, None),
        (SyntaxError("broken PNG file"), CorruptImage, "broken PNG file"),
        (OSError("a  b\n c"), CorruptImage, "a b c"),  # whitespace collapsed
        (EOFError(), CorruptImage, "EOFError"),  # no words: the exception's type names it
        (ValueError("y" * 300), CorruptImage, "y" * 240),
    ],
)
def test_pillow_failures_become_refusals_with_the_decoders_words(
    error: Exception, kind: type[ImageRejected], detail: str | None
) -> None:
    refusal = frames._rejection(error, "APNG")
    assert type(refusal) is kind
    if kind is TruncatedImage:
        assert str(refusal).startswith("the APNG data is truncated (")
        assert str(refusal).endswith("); upload the complete file")
    else:
        assert str(refusal) == f"the APNG data is corrupt ({detail}); the image cannot be decoded"
    if detail is not None:
        assert f"({detail})" in str(refusal)
