"""The encoders (ingest/encode.py): every stored byte is written here, with the options' parameters and
with no metadata whatever the pixels carry.

Each format gets exactly the parameters its Encoding names (so the bytes are what libvips writes with
them), the spec string a variant's key is made from names those parameters, a JPEG of pixels with alpha
is flattened on white, and a rendition counts the frames that were written.
"""

from __future__ import annotations

import io

import pytest
import pyvips
from PIL import Image

from picstore.errors import IngestTimeout
from picstore.ingest.budget import Deadline
from picstore.ingest.encode import Encoding, encode, encoding_for, rendition
from picstore.ingest.headers import read_header
from picstore.ingest.options import IngestOptions
from tests.corpus_util import metadata_found

OPTIONS = IngestOptions(jpeg_quality=81, webp_quality=72, webp_effort=3, avif_quality=55, avif_effort=1)


pytestmark = pytest.mark.usefixtures("libvips_ready")


def _pixels(width: int = 48, height: int = 32, bands: int = 3) -> pyvips.Image:
    x = pyvips.Image.xyz(width, height)
    image = (x[0] * 5).bandjoin([x[1] * 7, x[0] + x[1]] + ([200] if bands == 4 else [])).cast("uchar")
    return image.copy(interpretation="srgb")


def _with_metadata(image: pyvips.Image) -> pyvips.Image:
    image = image.copy()
    exif = Image.Exif()
    exif[0x010E] = "<script>alert(1)</script>"
    image.set_type(pyvips.GValue.blob_type, "exif-data", b"Exif\0\0" + exif.tobytes())
    image.set_type(pyvips.GValue.blob_type, "xmp-data", b"<x:xmpmeta>secret</x:xmpmeta>")
    image.set_type(pyvips.GValue.gstr_type, "gif-comment", "<?php system('id'); ?>")
    # No orientation: heifsave writes it as an irot box even with keep="none", and normalize has
    # already turned the pixels upright and removed the field before anything is encoded.
    return image


def _strip(colours: list[tuple[int, int, int]], size: int = 16) -> pyvips.Image:
    frames = [(pyvips.Image.black(size, size, bands=3) + list(c)).cast("uchar") for c in colours]
    strip = pyvips.Image.arrayjoin(frames, across=1).copy(interpretation="srgb")
    strip.set_type(pyvips.GValue.gint_type, "page-height", size)
    strip.set_type(pyvips.GValue.array_int_type, "delay", [100] * len(colours))
    strip.set_type(pyvips.GValue.gint_type, "loop", 0)
    return strip


@pytest.mark.parametrize(
    ("encoding", "params"),
    [
        (Encoding("jpeg", quality=81), "q=81"),
        (Encoding("webp", quality=72, effort=3), "q=72,effort=3"),
        (Encoding("webp", quality=72, effort=3, lossless=True), "lossless,effort=3"),
        (Encoding("avif", quality=55, effort=1), "q=55,effort=1"),
        (Encoding("png"), ""),
        (Encoding("gif"), ""),
    ],
)
def test_the_params_name_what_decides_the_bytes(encoding: Encoding, params: str) -> None:
    assert encoding.params == params


def test_the_options_choose_each_formats_encoding() -> None:
    assert encoding_for("jpeg", OPTIONS) == Encoding("jpeg", quality=81)
    assert encoding_for("webp", OPTIONS) == Encoding("webp", quality=72, effort=3)
    assert encoding_for("webp", OPTIONS, lossless=True) == Encoding(
        "webp", quality=72, effort=3, lossless=True
    )
    assert encoding_for("avif", OPTIONS) == Encoding("avif", quality=55, effort=1)
    assert encoding_for("png", OPTIONS) == Encoding("png")
    assert encoding_for("gif", OPTIONS) == Encoding("gif")


def test_a_presets_quality_overrides_the_options() -> None:
    assert encoding_for("jpeg", OPTIONS, quality=60) == Encoding("jpeg", quality=60)
    assert encoding_for("webp", OPTIONS, quality=60) == Encoding("webp", quality=60, effort=3)
    assert encoding_for("avif", OPTIONS, quality=60) == Encoding("avif", quality=60, effort=1)
    assert encoding_for("png", OPTIONS, quality=60) == Encoding("png")  # lossless: nothing to override


@pytest.mark.parametrize("fmt", ["bmp", "JPEG", ""])
def test_an_unknown_format_is_a_programming_error(fmt: str) -> None:
    with pytest.raises(ValueError, match=rf"^cannot encode '{fmt}'; formats are jpeg, webp, avif, png, gif$"):
        encoding_for(fmt, OPTIONS)
    with pytest.raises(ValueError, match=rf"^cannot encode '{fmt}'$"):
        encode(_pixels(), Encoding(fmt))


@pytest.mark.parametrize(
    ("encoding", "save", "params"),
    [
        (Encoding("jpeg", quality=81), "jpegsave_buffer", {"Q": 81}),
        (Encoding("webp", quality=72, effort=3), "webpsave_buffer", {"Q": 72, "effort": 3}),
        (
            Encoding("webp", quality=72, effort=2, lossless=True),
            "webpsave_buffer",
            {"lossless": True, "effort": 2},
        ),
        (
            Encoding("avif", quality=55, effort=1),
            "heifsave_buffer",
            {"compression": "av1", "Q": 55, "effort": 1},
        ),
        (Encoding("png"), "pngsave_buffer", {"compression": 6}),
        (Encoding("gif"), "gifsave_buffer", {}),
    ],
)
def test_each_format_is_written_with_its_parameters_and_no_metadata(
    encoding: Encoding, save: str, params: dict[str, object]
) -> None:
    image = _pixels()
    data = encode(_with_metadata(image), encoding)
    assert isinstance(data, bytes)
    assert data == bytes(getattr(image, save)(keep="none", **params))
    if encoding.format == "avif":
        assert read_header(data, "avif").format == "avif"  # AV1, not HEVC
    else:
        assert metadata_found(data) == []
    for marker in (b"script", b"secret", b"<?php"):
        assert marker not in data


def test_a_jpeg_of_pixels_with_alpha_is_flattened_on_white() -> None:
    rgba = pyvips.Image.black(16, 16).new_from_image([0, 0, 255, 0]).copy(interpretation="srgb")
    rgba = rgba.draw_rect([255, 0, 0, 255], 0, 0, 8, 16, fill=True)  # left half opaque red
    flat = pyvips.Image.jpegload_buffer(encode(rgba, Encoding("jpeg", quality=95)))
    assert flat.bands == 3
    assert [round(flat.crop(10, 0, 6, 16)[b].avg()) for b in range(3)] == [255, 255, 255]
    assert [round(flat.crop(0, 0, 6, 16)[b].avg()) for b in range(3)] == [254, 0, 0]
    grey_alpha = pyvips.Image.black(8, 8).new_from_image([0, 0]).copy(interpretation="b-w")
    grey = pyvips.Image.jpegload_buffer(encode(grey_alpha, Encoding("jpeg", quality=95)))
    assert (grey.bands, round(grey.avg())) == (1, 255)


def test_a_still_rendition_describes_what_was_encoded() -> None:
    made = rendition(_pixels(48, 32), Encoding("webp", quality=72, effort=3), variant="card", spec="width:48")
    assert (made.variant, made.spec, made.format, made.width, made.height, made.frames) == (
        "card",
        "width:48",
        "webp",
        48,
        32,
        1,
    )
    assert made.data == encode(_pixels(48, 32), Encoding("webp", quality=72, effort=3))
    master = rendition(_pixels(48, 32), Encoding("jpeg", quality=81))
    assert (master.variant, master.spec, master.height, master.frames) == (None, None, 32, 1)


def test_an_animated_rendition_counts_the_frames_written() -> None:
    animated = Encoding("webp", quality=72, effort=3, lossless=True)
    made = rendition(_strip([(255, 0, 0), (0, 255, 0), (0, 0, 255)]), animated, frame_height=16)
    assert (made.width, made.height, made.frames) == (16, 16, 3)
    assert read_header(made.data, "webp").frames == 3
    # libwebp merges identical consecutive frames: the rendition says what was written, not what was asked.
    merged = rendition(_strip([(255, 0, 0), (255, 0, 0)]), animated, frame_height=16)
    assert (merged.height, merged.frames) == (16, read_header(merged.data, "webp").frames) == (16, 1)


def test_a_spent_deadline_stops_the_encode() -> None:
    deadline = Deadline(0)
    with pytest.raises(pyvips.Error):
        rendition(_pixels(256, 256).resize(2), Encoding("jpeg", quality=81), deadline=deadline)
    assert deadline.expired
    with pytest.raises(IngestTimeout):
        deadline.check()
    fresh = Deadline(60)
    assert rendition(_pixels(), Encoding("jpeg", quality=81), deadline=fresh).frames == 1
    assert not fresh.expired


def test_the_jpeg_quality_reaches_libjpeg() -> None:
    # The quantization tables are those of Pillow's libjpeg encoder at the same quality.
    reference = io.BytesIO()
    Image.new("RGB", (8, 8)).save(reference, "JPEG", quality=81)
    ours = encode(_pixels(), Encoding("jpeg", quality=81))
    with Image.open(reference) as theirs, Image.open(io.BytesIO(ours)) as mine:
        assert mine.quantization == theirs.quantization  # type: ignore[attr-defined]
