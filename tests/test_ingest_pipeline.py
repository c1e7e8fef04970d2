"""ingest and probe on uploads made here, not in the corpus: polyglots, colour, alpha, animation, limits."""

from __future__ import annotations

import io

import pytest
import pyvips
from PIL import Image

from picstore.errors import ImageRejected, NotAnImage, TooLarge, TooManyPixels, TruncatedImage
from picstore.formats import label
from picstore.ingest import IngestOptions, decode, ingest, pipeline, probe
from picstore.ingest.headers import Header
from picstore.variants.spec import parse_spec
from tests.corpus_util import assert_clean

OPTIONS = IngestOptions()
PAYLOADS = (b"<?php", b"<html", b"PK\x03\x04", b"<script")


def _gradient(width: int, height: int) -> pyvips.Image:
    x = pyvips.Image.xyz(width, height)
    rgb = (x[0] * 255 / width).bandjoin([x[1] * 255 / height, (x[0] * 3 + x[1]) % 256]).cast("uchar")
    return rgb.copy(interpretation="srgb")


def _pil_bytes(image: Image.Image, fmt: str, **params: object) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **params)
    return buf.getvalue()


def _pil_photo(width: int = 320, height: int = 200) -> Image.Image:
    return Image.frombytes("RGB", (width, height), _gradient(width, height).write_to_memory())


def _decode(data: bytes) -> pyvips.Image:
    return pyvips.Image.new_from_buffer(data, "n=-1" if data[:4] in (b"RIFF", b"GIF8") else "")


def _refused(data: bytes, options: IngestOptions = OPTIONS) -> ImageRejected:
    with pytest.raises(ImageRejected) as info:
        ingest(data, options)
    with pytest.raises(type(info.value)) as probed:
        probe(data, options)  # validate answers what put does, in the same words
    assert str(probed.value) == str(info.value)
    return info.value


# --- polyglots and payloads ------------------------------------------------------------------------


def _gif_with_comment(comment: bytes) -> bytes:
    gif = _pil_bytes(_pil_photo(64, 64).convert("P"), "GIF")
    blocks = b"\x21\xfe" + bytes([len(comment)]) + comment + b"\x00"
    return gif[:-1] + blocks + b"\x3b"


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: _pil_bytes(_pil_photo(), "JPEG") + b"PK\x03\x04zip-payload-here", id="jpeg+zip"),
        pytest.param(
            lambda: _pil_bytes(_pil_photo(), "JPEG", comment=b"<?php echo 1; ?>"), id="jpeg-COM-php"
        ),
        pytest.param(
            lambda: _pil_bytes(_pil_photo(), "PNG") + b"<html><script>x</script></html>", id="png+html"
        ),
        pytest.param(lambda: _gif_with_comment(b"<?php system('id'); ?>"), id="gif-comment-php"),
        pytest.param(lambda: _pil_bytes(_pil_photo(), "WEBP") + b"<html><script>x</script>", id="webp+html"),
        pytest.param(
            lambda: _pil_bytes(_pil_photo().convert("RGBA"), "PNG") + b"<script>alert(1)</script>",
            id="rgba+script",
        ),
    ],
)
def test_payloads_never_reach_a_stored_copy(make: object) -> None:
    data = make()  # type: ignore[operator]
    assert any(p in data for p in PAYLOADS)
    result = ingest(data, OPTIONS)
    assert_clean(result)
    for out in (result.master, *result.variants):
        assert not any(p in out.data for p in PAYLOADS), out.variant


def test_html_named_jpg_is_not_an_image() -> None:
    refusal = _refused(b"<!DOCTYPE html><html><body><img src=x onerror=alert(1)></body></html>")
    assert isinstance(refusal, NotAnImage)


# --- metadata, orientation, colour ---------------------------------------------------------------------


def test_exif_orientation_and_gps_are_applied_then_dropped() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 clockwise to display
    exif[0x010E] = "<script>alert(1)</script>"
    exif.get_ifd(0x8825).update({1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 3.0)})
    upright = _pil_photo(300, 200)
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # what a camera held sideways writes
    data = _pil_bytes(stored, "JPEG", exif=exif.tobytes(), quality=95)
    result = ingest(data, OPTIONS)
    assert_clean(result)
    master = _decode(result.master.data)
    assert (master.width, master.height) == (300, 200)
    reference = pyvips.Image.new_from_buffer(_pil_bytes(upright, "PNG"), "")
    assert (master - reference).abs().avg() < 4
    assert b"script" not in result.master.data
    assert probe(data, OPTIONS).width == 300


def test_heic_is_decoded_with_its_rotation() -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    pillow_heif.from_pillow(_pil_photo(300, 200)).save(buf, format="HEIF", quality=90, exif=exif.tobytes())
    result = ingest(buf.getvalue(), OPTIONS)
    assert result.source.format == "heic"
    assert (result.master.width, result.master.height) == (200, 300)  # irot applied once, EXIF ignored
    assert_clean(result)


def test_cmyk_jpeg_becomes_srgb() -> None:
    data = _pil_bytes(Image.new("CMYK", (64, 64), (0, 255, 255, 0)), "JPEG", quality=95)  # pure red ink
    result = ingest(data, OPTIONS)
    master = _decode(result.master.data)
    assert master.bands == 3 and master.interpretation == "srgb"
    red, green, blue = (master[b].avg() for b in range(3))
    assert red > 180 and green < 80 and blue < 80
    assert_clean(result)


def test_embedded_profile_is_converted_then_dropped() -> None:
    srgb = _gradient(200, 100).copy_memory()
    p3 = srgb.icc_transform("p3")  # pixels in Display P3, with the P3 profile attached
    data = p3.jpegsave_buffer(Q=98)  # default keep: the profile is embedded
    assert pyvips.Image.new_from_buffer(data, "").get_typeof("icc-profile-data")
    result = ingest(data, OPTIONS)
    assert_clean(result)
    master = _decode(result.master.data)
    assert (master - srgb).abs().avg() < 3  # converted back to sRGB
    assert (master - p3).abs().avg() > (master - srgb).abs().avg()


def test_sixteen_bit_png_is_stored_as_eight_bit() -> None:
    wide = (_gradient(64, 64).cast("ushort") * 257).copy(interpretation="rgb16")
    result = ingest(wide.pngsave_buffer(), OPTIONS)
    master = _decode(result.master.data)
    assert (result.master.format, master.format, master.bands) == ("jpeg", "uchar", 3)
    assert (master - _gradient(64, 64)).abs().avg() < 3


# --- master format: alpha and animation -------------------------------------------------------------


def test_png_with_alpha_is_stored_as_png_and_flattened_on_white_for_jpeg() -> None:
    rgba = Image.new("RGBA", (100, 80), (255, 0, 0, 0))
    rgba.paste((0, 0, 255, 255), (0, 0, 50, 80))
    result = ingest(_pil_bytes(rgba, "PNG"), OPTIONS)
    assert result.master.format == "png"
    master = _decode(result.master.data)
    assert master.bands == 4 and master[3].min() == 0
    jpeg = next(v for v in result.variants if v.variant == "large" and v.format == "jpeg")
    flat = _decode(jpeg.data)
    assert [round(flat[b].crop(60, 0, 40, 80).avg()) for b in range(3)] == [255, 255, 255]
    webp = next(v for v in result.variants if v.variant == "large" and v.format == "webp")
    assert _decode(webp.data).hasalpha()


def test_opaque_alpha_is_dropped_and_lossy_alpha_becomes_webp() -> None:
    opaque = ingest(_pil_bytes(_pil_photo().convert("RGBA"), "PNG"), OPTIONS)
    assert opaque.master.format == "jpeg"
    lossy = ingest(_pil_bytes(Image.new("RGBA", (64, 64), (0, 128, 0, 100)), "WEBP", quality=80), OPTIONS)
    assert lossy.master.format == "webp" and _decode(lossy.master.data).hasalpha()
    assert b"VP8L" not in lossy.master.data  # lossy stays lossy (a lossless master would be larger)


@pytest.mark.parametrize("fmt", ["GIF", "WEBP", "PNG"])
def test_animations_keep_their_frames_and_timing(fmt: str) -> None:
    frames = [Image.new("RGB", (120, 90), colour) for colour in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    data = _pil_bytes(
        frames[0], fmt, save_all=True, append_images=frames[1:], duration=[100, 200, 300], loop=0
    )
    result = ingest(data, OPTIONS)
    assert (result.source.frames, result.master.format, result.master.frames) == (3, "webp", 3)
    assert probe(data, OPTIONS) == result.source  # frames included
    assert isinstance(result.source.frames, int)  # a count, whatever the division gave
    master = _decode(result.master.data)
    assert master.get("page-height") == 90 and list(master.get("delay")) == [100, 200, 300]
    for i, colour in enumerate(((255, 0, 0), (0, 255, 0), (0, 0, 255))):
        frame = master.crop(0, i * 90, 120, 90)
        assert all(abs(frame[b].avg() - colour[b]) < 8 for b in range(3)), (i, colour)
    by_format = {(v.variant, v.format): v for v in result.variants}
    assert by_format["thumb", "webp"].frames == 3 and (
        by_format["thumb", "webp"].width,
        by_format["thumb", "webp"].height,
    ) == (90, 90)
    assert by_format["thumb", "jpeg"].frames == 1  # JPEG cannot animate: a still of the first frame
    assert_clean(result)


# --- sizes, limits, truncation -----------------------------------------------------------------------


def test_long_side_is_capped() -> None:
    data = _gradient(5000, 200).jpegsave_buffer()
    result = ingest(data, OPTIONS)
    assert (result.master.width, result.master.height) == (4096, 164)
    assert (result.source.width, result.source.height) == (5000, 200) == (probe(data, OPTIONS).width, 200)
    capped = ingest(_gradient(300, 200).jpegsave_buffer(), IngestOptions(max_side=150))
    assert (capped.master.width, capped.master.height) == (150, 100)


def test_large_jpeg_shrinks_on_load_for_variants_without_changing_them() -> None:
    photo = _gradient(4000, 3000).copy_memory()
    result = ingest(photo.jpegsave_buffer(Q=92), OPTIONS)
    assert (result.master.width, result.master.height) == (4000, 3000)
    large = _decode(next(v for v in result.variants if v.variant == "large" and v.format == "jpeg").data)
    assert (large.width, large.height) == (1600, 1200)
    reference = photo.thumbnail_image(1600, height=1200, size="force")
    # Decoding at 1/2 scale then resizing gives the same picture as resizing the full decode (the
    # test image's sawtooth band makes the two resamplings differ slightly; a flip would be ~60).
    assert (large - reference).abs().avg() < 6


def test_limits_are_options() -> None:
    data = _gradient(300, 200).jpegsave_buffer()
    assert isinstance(_refused(data, IngestOptions(max_bytes=len(data) - 1)), TooLarge)
    assert isinstance(_refused(data, IngestOptions(max_pixels=59_999)), TooManyPixels)
    frames = [Image.new("RGB", (10, 10), (i, 0, 0)) for i in range(4)]
    gif = _pil_bytes(frames[0], "GIF", save_all=True, append_images=frames[1:])
    assert isinstance(_refused(gif, IngestOptions(max_frames=3)), TooManyPixels)
    assert isinstance(_refused(gif, IngestOptions(max_total_pixels=399)), TooManyPixels)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "WEBP"])
def test_truncated_uploads_are_refused_not_padded(fmt: str) -> None:
    data = _pil_bytes(_pil_photo(400, 300), fmt)
    refusal = _refused(data[: len(data) * 2 // 3])
    assert refusal.code in ("truncated_image", "corrupt_image")
    assert str(refusal).startswith(f"the {label(fmt.lower())} data is ")  # the format, named
    if fmt in ("GIF", "WEBP", "PNG"):
        assert isinstance(refusal, TruncatedImage)


def test_corrupt_scan_data_is_refused() -> None:
    data = bytearray(_pil_bytes(_pil_photo(400, 300), "PNG"))
    idat = data.index(b"IDAT")
    data[idat + 40 : idat + 60] = b"\x00" * 20  # CRC now wrong, zlib stream broken
    refusal = _refused(bytes(data))
    assert refusal.code == "corrupt_image"
    assert str(refusal).startswith("the PNG data is corrupt (")


def test_variant_specs_in_results_carry_encoder_parameters() -> None:
    result = ingest(_gradient(300, 200).jpegsave_buffer(), IngestOptions(webp_effort=3, webp_quality=70))
    specs = {(v.variant, v.format): v.spec for v in result.variants}
    assert specs["thumb", "jpeg"] == "cover:200x200,q=85"
    assert specs["thumb", "webp"] == "cover:200x200,q=70,effort=3"
    assert specs["card", "jpeg"] == "width:640,q=85"
    assert [(v.variant, v.format) for v in result.variants] == sorted(specs)  # stable order
    override = ingest(_gradient(300, 200).jpegsave_buffer(), IngestOptions(variants={"t": "cover:50,q=60"}))
    assert {v.spec for v in override.variants} == {"cover:50x50,q=60", "cover:50x50,q=60,effort=2"}


def test_probe_reports_the_upright_stored_geometry() -> None:
    exif = Image.Exif()
    exif[0x0112] = 8
    data = _pil_bytes(_pil_photo(300, 200), "JPEG", exif=exif.tobytes())
    assert probe(data, OPTIONS) == ingest(data, OPTIONS).source
    found = probe(data, OPTIONS)
    assert (found.format, found.width, found.height, found.frames) == ("jpeg", 200, 300, 1)


@pytest.mark.parametrize(
    "bad",
    [
        {"variants": {"thumb": "cover:two"}},
        {"variants": {"original": "fit:100"}},
        {"variant_formats": ("jpeg", "bmp")},
        {"webp_effort": 7},
        {"jpeg_quality": 0},
        {"max_side": 0},
    ],
)
def test_options_are_checked_when_made(bad: dict[str, object]) -> None:
    from picstore.errors import ConfigError

    with pytest.raises(ConfigError):
        IngestOptions(**bad)  # type: ignore[arg-type]


# --- the decoding plan -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("upright", "need", "factor"),
    [
        ((1600, 1200), (200, 150), 8),  # exactly 1/8 covers it
        ((1600, 1200), (201, 150), 4),  # one pixel wider: 1/8 no longer covers it
        ((1600, 1200), (200, 151), 4),  # one pixel taller: the same
        ((1600, 1200), (400, 300), 4),
        ((1600, 1200), (401, 300), 2),
        ((1600, 1200), (800, 600), 2),
        ((1600, 1200), (801, 600), 1),
        ((1607, 1207), (200, 150), 8),  # 1607 // 8 is 200: what the DCT scaling gives, rounded down
        ((1600, 1200), (1600, 1200), 1),
    ],
)
def test_a_jpeg_shrinks_on_load_by_the_largest_factor_that_still_covers(
    upright: tuple[int, int], need: tuple[int, int], factor: int
) -> None:
    assert pipeline._shrink(Header("jpeg", *upright), upright, need) == factor
    assert pipeline._shrink(Header("png", *upright), upright, need) == 1  # only JPEG shrinks on load


def test_the_variant_decode_covers_the_largest_preset() -> None:
    presets = {
        "small": parse_spec("fit:400x100"),
        "card": parse_spec("width:400"),
        "dot": parse_spec("fit:8x8"),
    }
    assert pipeline._largest_variant((1000, 500), presets) == (400, 200)
    assert pipeline._largest_variant((1000, 800), {}) == (1000, 800)  # no presets: the master's size


def test_a_jpeg_without_presets_is_decoded_once_and_stored_whole() -> None:
    data = _gradient(1600, 1200).jpegsave_buffer()
    result = ingest(data, IngestOptions(variants={}))
    assert result.variants == ()
    assert (result.master.width, result.master.height) == (1600, 1200)
    assert probe(data, IngestOptions(variants={})) == result.source


def _oriented_vips(value: int) -> pyvips.Image:
    image = pyvips.Image.black(30, 20).copy()
    image.set_type(pyvips.GValue.gint_type, "orientation", value)
    return image


@pytest.mark.parametrize(
    ("value", "upright"), [(1, (300, 200)), (4, (300, 200)), (5, (200, 300)), (8, (200, 300))]
)
def test_the_upright_size_swaps_from_orientation_5(value: int, upright: tuple[int, int]) -> None:
    assert pipeline._upright(_oriented_vips(value), Header("jpeg", 300, 200), False) == upright


def test_the_upright_size_of_heif_and_animations_is_the_decoded_frame() -> None:
    # libheif applies irot itself and animations are never turned: the decoded size is the upright one.
    for fmt, animated in (("heic", False), ("avif", False), ("gif", True)):
        assert pipeline._upright(_oriented_vips(6), Header(fmt, 300, 200), animated) == (30, 20), fmt


def test_a_gif_cut_before_its_trailer_is_refused() -> None:
    gif = _pil_bytes(_pil_photo(64, 64).convert("P"), "GIF")
    assert gif.endswith(b"\x3b")
    refusal = _refused(gif[:-1])  # libvips alone would decode it
    assert isinstance(refusal, TruncatedImage)


def test_a_lossless_animation_is_stored_lossless_and_a_lossy_one_lossy() -> None:
    frames = [Image.new("RGB", (40, 30), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    gif = _pil_bytes(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=80)
    lossy = _pil_bytes(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=80, quality=70)
    assert b"VP8L" in ingest(gif, OPTIONS).master.data
    master = ingest(lossy, OPTIONS).master.data
    assert b"VP8 " in master and b"VP8L" not in master


def _damaged_animation() -> bytes:
    frames = [_pil_photo(120, 90).rotate(90 * i) for i in range(3)]
    data = bytearray(_pil_bytes(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=80))
    data[-100:-80] = bytes(b ^ 0xFF for b in data[-100:-80])  # damage the last frame's pixel data
    return bytes(data)


def test_a_damaged_frame_is_refused_wherever_its_pixels_are_first_read() -> None:
    # An animation stays a lazy strip through the decode step: the first encode reads the damaged frame
    # (the variants', or the master's when there are none), and probe's verify step does.
    for options in (OPTIONS, IngestOptions(variants={})):
        refusal = _refused(_damaged_animation(), options)
        assert str(refusal).startswith("the GIF data is corrupt (")


def test_an_animation_is_never_turned_whatever_its_exif_says() -> None:
    frames = [Image.new("RGB", (60, 30), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    exif = Image.Exif()
    exif[0x0112] = 6
    data = _pil_bytes(frames[0], "WEBP", save_all=True, append_images=frames[1:], exif=exif.tobytes())
    result = ingest(data, IngestOptions(variants={}))
    assert (result.master.width, result.master.height, result.master.frames) == (60, 30, 2)


def test_variant_sizes_come_from_the_full_size_not_the_shrunk_decode() -> None:
    # 4001 x 9 decodes at 1/2 as 2001 x 5 (libjpeg rounds up): 640 wide is 1.44 px high of the
    # picture, 1.6 px of the shrunk decode.
    options = IngestOptions(
        variants={"large": "fit:1600x1600", "card": "width:640"}, variant_formats=("jpeg",)
    )
    result = ingest(_gradient(4001, 9).jpegsave_buffer(), options)
    sizes = {v.variant: (v.width, v.height) for v in result.variants}
    assert sizes == {"large": (1600, 4), "card": (640, 1)}


@pytest.mark.parametrize(
    ("fmt", "max_side", "preset", "loads"),
    [
        # capped to half: the master streamed at 1/2, the variant source decoded at 1/8 into memory
        ("jpeg", 150, "fit:30x30", [(1, True), (2, True), (8, True)]),
        # the master at full size is the first stream itself; the variant source at 1/2
        ("jpeg", 4096, "fit:100x100", [(1, True), (2, True)]),
        # a preset as large as the picture: one decode serves the master and the variants
        ("jpeg", 4096, "fit:300x300", [(1, True)]),
        ("png", 150, "fit:30x30", [(1, True)]),  # only JPEG shrinks on load
    ],
)
def test_the_decoding_plan_streams_each_decode_at_the_smallest_size_that_covers(
    monkeypatch: pytest.MonkeyPatch, fmt: str, max_side: int, preset: str, loads: list[tuple[int, bool]]
) -> None:
    calls: list[tuple[int, bool]] = []
    real = decode.load

    def spy(data: bytes, header: Header, *, shrink: int = 1, sequential: bool = False) -> pyvips.Image:
        calls.append((shrink, sequential))
        return real(data, header, shrink=shrink, sequential=sequential)

    monkeypatch.setattr(decode, "load", spy)
    picture = _gradient(300, 200)
    data = picture.jpegsave_buffer(Q=95) if fmt == "jpeg" else picture.pngsave_buffer()
    options = IngestOptions(max_side=max_side, variants={"t": preset}, variant_formats=("jpeg",))
    result = ingest(data, options)
    assert calls == loads
    master = _decode(result.master.data)
    expected = picture.thumbnail_image(result.master.width, height=result.master.height, size="force")
    assert (master - expected).abs().avg() < 6  # whatever the plan, the same picture


def test_a_variant_decoded_apart_from_the_master_is_turned_upright_too() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6
    data = _pil_bytes(_pil_photo(300, 200), "JPEG", exif=exif.tobytes(), quality=95)
    # The preset is small enough for its source to be decoded at 1/2, apart from the master.
    result = ingest(data, IngestOptions(variants={"t": "fit:100x100"}, variant_formats=("jpeg",)))
    (variant,) = result.variants
    assert (result.master.width, result.master.height) == (200, 300)
    assert (variant.width, variant.height) == (67, 100)
    upright = _decode(result.master.data).thumbnail_image(67, height=100, size="force")
    assert (_decode(variant.data) - upright).abs().avg() < 8  # the same picture, not a squeezed sideways one
