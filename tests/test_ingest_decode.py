"""Strict decoding (ingest/decode.py): one named loader per format, a stream when asked for one, the
first page of a multi-page file, every frame of an animation, and the EXIF orientation as read.

A stream (``sequential``) is read top to bottom only; a still that must be turned is decoded for random
access instead, because libvips cannot turn a stream. Only JPEG shrinks on load.
"""

from __future__ import annotations

import io

import pytest
import pyvips
from PIL import Image

from picstore.errors import CorruptImage, TruncatedImage
from picstore.ingest import decode
from picstore.ingest.headers import Header, read_header
from picstore.ingest.libvips import decoder_errors
from tests.helpers import make_animation

pytestmark = pytest.mark.usefixtures("libvips_ready")


def _photo(width: int, height: int) -> Image.Image:
    x = pyvips.Image.xyz(width, height)
    rgb = (x[0] * 3).bandjoin([x[1] % 256, x[0] + x[1]]).cast("uchar")
    return Image.frombytes("RGB", (width, height), rgb.write_to_memory())


def _saved(image: Image.Image, fmt: str, **params: object) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **params)
    return buf.getvalue()


def _with_orientation(width: int, height: int, value: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = value
    return _saved(_photo(width, height), "JPEG", exif=exif.tobytes())


def _loaded(data: bytes, fmt: str, **kwargs: object) -> pyvips.Image:
    return decode.load(data, read_header(data, fmt), **kwargs)  # type: ignore[arg-type]


def test_only_jpeg_shrinks_on_load() -> None:
    assert decode.can_shrink_on_load(Header("jpeg", 8, 8))
    for fmt in ("png", "gif", "webp", "tiff", "avif", "heic"):
        assert not decode.can_shrink_on_load(Header(fmt, 8, 8)), fmt
    data = _saved(_photo(64, 48), "JPEG")
    assert [(im.width, im.height) for im in (_loaded(data, "jpeg", shrink=s) for s in (1, 2, 8))] == [
        (64, 48),
        (32, 24),
        (8, 6),
    ]


@pytest.mark.parametrize("fmt", ["PNG", "TIFF", "JPEG"])
def test_a_stream_is_read_top_to_bottom_and_a_random_access_decode_in_any_order(fmt: str) -> None:
    data = _saved(_photo(64, 2000), fmt)
    whole = _loaded(data, fmt.lower())
    assert whole.crop(0, 1900, 64, 100).avg() >= 0 and whole.crop(0, 0, 64, 10).avg() >= 0
    stream = _loaded(data, fmt.lower(), sequential=True)
    stream.crop(0, 1900, 64, 100).avg()
    with pytest.raises(pyvips.Error, match="out of order read"):
        stream.crop(0, 0, 64, 10).avg()


@pytest.mark.parametrize("value", [2, 6, 8])
def test_a_still_that_must_be_turned_is_never_a_stream(value: int) -> None:
    image = _loaded(_with_orientation(64, 2000, value), "jpeg", sequential=True)
    assert decode.orientation(image) == value
    assert image.autorot().avg() > 0  # libvips turns it (a stream would fail: "out of order read")


def test_an_upright_still_stays_a_stream() -> None:
    image = _loaded(_with_orientation(64, 2000, 1), "jpeg", sequential=True)
    image.crop(0, 1900, 64, 100).avg()
    with pytest.raises(pyvips.Error, match="out of order read"):
        image.crop(0, 0, 64, 10).avg()


@pytest.mark.parametrize(("value", "read"), [(0, 1), (1, 1), (2, 2), (5, 5), (8, 8), (9, 1), (200, 1)])
def test_the_orientation_is_1_when_absent_or_out_of_range(value: int, read: int) -> None:
    image = pyvips.Image.black(2, 2).copy()
    assert decode.orientation(image) == 1
    image.set_type(pyvips.GValue.gint_type, "orientation", value)
    assert decode.orientation(image) == read


def test_a_multi_page_tiff_gives_its_first_page() -> None:
    pages = [Image.new("RGB", (10, 10), (255, 0, 0)), Image.new("RGB", (20, 5), (0, 255, 0))]
    data = _saved(pages[0], "TIFF", save_all=True, append_images=pages[1:])
    image = _loaded(data, "tiff")
    assert (image.width, image.height, round(image[0].avg()), round(image[1].avg())) == (10, 10, 255, 0)


def test_a_gif_gives_every_frame_only_when_animated() -> None:
    frames = [Image.new("RGB", (12, 8), c) for c in ((255, 0, 0), (0, 0, 255))]
    animated = _saved(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=50)
    strip = _loaded(animated, "gif", sequential=True)
    assert (strip.height, strip.get("page-height")) == (16, 8)
    assert strip.crop(0, 8, 12, 8)[2].avg() > 200  # the second frame is there, and read after the first
    still = _saved(frames[0], "GIF")
    assert _loaded(still, "gif").height == 8


def test_a_webp_gives_every_frame_only_when_animated() -> None:
    frames = [Image.new("RGB", (12, 8), c) for c in ((255, 0, 0), (0, 0, 255))]
    animated = _saved(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=50, lossless=True)
    strip = _loaded(animated, "webp")
    assert (strip.height, strip.get("page-height")) == (16, 8)
    assert _loaded(_saved(frames[0], "WEBP"), "webp").height == 8


def test_an_avif_sequence_gives_every_frame() -> None:
    data = make_animation("AVIF", [40, 60, 80], quality=90)
    strip = _loaded(data, "avif")
    assert (strip.width, strip.height, strip.get("page-height")) == (20, 30, 10)
    assert list(strip.get("delay")) == [40, 60, 80]


def test_an_avif_still_is_decoded_by_libvips() -> None:
    data = bytes(pyvips.Image.black(24, 16, bands=3).cast("uchar").heifsave_buffer(compression="av1"))
    image = _loaded(data, "avif")
    assert (image.width, image.height) == (24, 16)


def test_decoder_failures_are_refusals_that_name_the_format() -> None:
    data = _saved(_photo(64, 48), "JPEG")
    broken = data[:2] + b"\xff\xc0\x00\x11" + b"\x00" * 40
    with pytest.raises(CorruptImage, match=r"^the JPEG data is corrupt"):
        decode.load(broken, Header("jpeg", 64, 48))
    gif = _saved(Image.new("RGB", (12, 8)), "GIF")
    with pytest.raises(TruncatedImage, match=r"^the GIF data is truncated or damaged"):
        decode.load(gif[:13] + b"\x00" * 20, Header("gif", 12, 8))


@pytest.mark.parametrize("fmt", ["TIFF", "PNG", "GIF"])
def test_a_cut_file_is_refused_when_its_pixels_are_pulled(fmt: str) -> None:
    # libvips' default (fail_on="none") would pad a cut TIFF, GIF or PNG with grey and answer an image.
    data = _saved(_photo(256, 600), fmt)
    cut = data[: len(data) * 2 // 3]
    with pytest.raises((TruncatedImage, CorruptImage)), decoder_errors(fmt):
        _loaded(cut, fmt.lower()).avg()


def test_a_format_without_a_loader_is_a_programming_error() -> None:
    with pytest.raises(AssertionError, match="no loader for 'bmp'"):
        decode.load(b"BM", Header("bmp", 1, 1))
