"""The variant cascade: sizes, the source each preset is resized from, animations kept frame by frame."""

from __future__ import annotations

from typing import Any

import pytest
import pyvips

from picstore.variants import parse_spec, render
from picstore.variants.render import page_height, render_variants

PRESETS = {
    name: parse_spec(text)
    for name, text in {"thumb": "cover:200x200", "card": "width:640", "large": "fit:1600x1600"}.items()
}


def _photo(width: int, height: int) -> pyvips.Image:
    # A gradient with structure in both directions, so crops and flips are visible in the pixels.
    x = pyvips.Image.xyz(width, height)
    return (
        (x[0] * 255 / width)
        .bandjoin([x[1] * 255 / height, (x[0] + x[1]) % 256])
        .cast("uchar")
        .copy(interpretation="srgb")
    )


def test_cascade_resizes_each_preset_from_the_smallest_large_enough_image(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[tuple[int, tuple[int, int]]] = []
    real = render.resize_exact

    def spy(image: Any, size: tuple[int, int]) -> Any:
        calls.append((image.width, size))
        return real(image, size)

    monkeypatch.setattr(render, "resize_exact", spy)
    made = list(render_variants(_photo(4000, 3000).copy_memory(), PRESETS))
    assert [m.name for m in made] == ["large", "card", "thumb"]  # largest first
    assert calls == [(4000, (1600, 1200)), (1600, (640, 480)), (640, (267, 200))]
    assert [(m.width, m.height) for m in made] == [(1600, 1200), (640, 480), (200, 200)]
    for m in made:
        assert (m.image.width, m.image.height) == (m.width, m.height)


def test_full_size_makes_sizes_independent_of_shrink_on_load() -> None:
    shrunk = _photo(2000, 1500).copy_memory()
    made = {m.name: (m.width, m.height) for m in render_variants(shrunk, PRESETS, full_size=(4000, 3000))}
    assert made == {"large": (1600, 1200), "card": (640, 480), "thumb": (200, 200)}


def test_a_source_smaller_than_its_full_size_is_resized_up_from_the_largest_image() -> None:
    # Sizes come from full_size whatever the source; a source decoded too small (never so in the
    # pipeline, which decodes at a size that covers every preset) is scaled up, not left small.
    made = {
        m.name: m.image
        for m in render_variants(_photo(400, 300).copy_memory(), PRESETS, full_size=(4000, 3000))
    }
    assert {name: (im.width, im.height) for name, im in made.items()} == {
        "large": (1600, 1200),
        "card": (640, 480),
        "thumb": (200, 200),
    }


def test_nothing_is_enlarged_and_cover_keeps_the_box_aspect() -> None:
    made = {m.name: m.image for m in render_variants(_photo(300, 100).copy_memory(), PRESETS)}
    assert (made["large"].width, made["large"].height) == (300, 100)
    assert (made["card"].width, made["card"].height) == (300, 100)
    assert (made["thumb"].width, made["thumb"].height) == (100, 100)


def test_cover_crop_is_centred() -> None:
    source = _photo(400, 200).copy_memory()
    thumb = next(m for m in render_variants(source, PRESETS) if m.name == "thumb").image
    expected = source.crop(100, 0, 200, 200)
    assert (thumb - expected).abs().avg() < 2


def test_alpha_is_kept() -> None:
    rgba = _photo(800, 600).bandjoin(128).copy(interpretation="srgb").copy_memory()
    for made in render_variants(rgba, PRESETS):
        assert made.image.bands == 4 and made.image.hasalpha()


def _animation(width: int, height: int, colours: list[tuple[int, int, int]]) -> pyvips.Image:
    frames = [(pyvips.Image.black(width, height) + list(c)).cast("uchar") for c in colours]
    strip = pyvips.Image.arrayjoin(frames, across=1).copy(interpretation="srgb")
    strip.set_type(pyvips.GValue.gint_type, "page-height", height)
    strip.set_type(pyvips.GValue.array_int_type, "delay", [100, 200, 300])
    strip.set_type(pyvips.GValue.gint_type, "loop", 0)
    return strip


def test_animations_keep_every_frame_and_their_timing() -> None:
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
    made = {m.name: m for m in render_variants(_animation(900, 300, colours), PRESETS)}
    thumb = made["thumb"]
    assert (thumb.width, thumb.height, thumb.frames) == (200, 200, 3)
    assert (thumb.image.width, thumb.image.height, page_height(thumb.image)) == (200, 600, 200)
    assert list(thumb.image.get("delay")) == [100, 200, 300]
    for i, colour in enumerate(colours):
        frame = thumb.image.crop(0, i * 200, 200, 200)
        assert [round(frame[b].avg()) for b in range(3)] == list(colour)
    assert (thumb.still.width, thumb.still.height) == (200, 200)  # first frame, for JPEG
    assert [round(thumb.still[b].avg()) for b in range(3)] == [255, 0, 0]
    card = made["card"]
    assert (card.width, card.height, page_height(card.image), card.image.height) == (640, 213, 213, 639)


@pytest.mark.parametrize(
    ("declared", "frame"),
    [
        (None, 300),  # a still: the whole image
        (1, 1),  # frames one line tall
        (100, 100),
        (300, 300),  # one frame as tall as the image
        (150, 150),
        (0, 300),  # nonsense is ignored: the image is one frame
        (-100, 300),
        (301, 300),  # taller than the image
        (120, 300),  # does not divide the height
    ],
)
def test_a_frame_is_page_height_tall_only_when_that_divides_the_image(
    declared: int | None, frame: int
) -> None:
    image = _photo(10, 300).copy()
    if declared is not None:
        image.set_type(pyvips.GValue.gint_type, "page-height", declared)
    assert page_height(image) == frame


def test_resize_exact_gives_exactly_the_size_and_leaves_a_right_sized_image_alone() -> None:
    source = _photo(300, 200)
    assert render.resize_exact(source, (300, 200)) is source
    # libvips' own rounding would make 100 x 66.67 into 100 x 67; the caller's arithmetic decides.
    resized = render.resize_exact(source, (100, 66))
    assert (resized.width, resized.height) == (100, 66)
    assert (render.resize_exact(source, (300, 199)).width, render.resize_exact(source, (299, 200)).width) == (
        300,
        299,
    )


def _with_spot(width: int, height: int, spot_x: int) -> pyvips.Image:
    """A flat grey picture with one busy, colourful square: what attention-cropping looks for."""
    flat = (pyvips.Image.black(width, height, bands=3) + 128).cast("uchar")
    noise = pyvips.Image.gaussnoise(60, 60, sigma=120, mean=128).cast("uchar")
    spot = noise.bandjoin([noise.rot90(), noise.flip("horizontal")])
    return flat.insert(spot, spot_x, height // 2 - 30).copy(interpretation="srgb").copy_memory()


def test_the_cover_crop_follows_the_presets_crop_option() -> None:
    source = _with_spot(400, 200, 330)
    presets = {"centre": parse_spec("cover:200x200"), "attention": parse_spec("cover:200x200,crop=attention")}
    made = {m.name: m.image for m in render_variants(source, presets)}
    assert (made["centre"] - source.crop(100, 0, 200, 200)).abs().max() == 0
    assert (made["attention"] - source.crop(200, 0, 200, 200)).abs().max() == 0  # the busy square is in it


def test_a_cover_crop_has_the_boxs_shape() -> None:
    source = _photo(400, 400).copy_memory()
    made = next(iter(render_variants(source, {"banner": parse_spec("cover:200x100")})))
    assert (made.width, made.height, made.image.width, made.image.height) == (200, 100, 200, 100)
    expected = source.thumbnail_image(200, height=200, size="force").crop(0, 50, 200, 100)
    assert (made.image - expected).abs().avg() < 2  # the middle band of the picture


def _marked_animation(width: int, height: int, frames: int) -> pyvips.Image:
    """Frames of one colour each with a white cross in the middle: a centred crop keeps it centred."""
    pages = []
    for i in range(frames):
        page = pyvips.Image.black(width, height).new_from_image([80 * i, 0, 255 - 80 * i])
        page = page.draw_rect([255, 255, 255], width // 2 - 2, 0, 4, height, fill=True)
        pages.append(page.draw_rect([255, 255, 255], 0, height // 2 - 2, width, 4, fill=True))
    strip = pyvips.Image.arrayjoin(pages, across=1).copy(interpretation="srgb")
    strip.set_type(pyvips.GValue.gint_type, "page-height", height)
    strip.set_type(pyvips.GValue.array_int_type, "delay", [70] * frames)
    strip.set_type(pyvips.GValue.gint_type, "loop", 3)
    return strip


def test_an_animation_is_cropped_frame_by_frame_at_the_centre() -> None:
    made = next(iter(render_variants(_marked_animation(400, 200, 3), {"thumb": parse_spec("cover:100x100")})))
    strip = made.image
    assert (strip.width, strip.height, page_height(strip), made.frames) == (100, 300, 100, 3)
    assert (list(strip.get("delay")), strip.get("loop")) == ([70, 70, 70], 3)
    for i in range(3):
        frame = strip.crop(0, i * 100, 100, 100)
        assert frame.crop(49, 0, 2, 100).min() > 200, i  # the white column is in the middle
        assert round(frame.crop(0, 0, 40, 40)[2].avg()) == 255 - 80 * i, i  # and the frame its own colour


def test_a_tall_animation_is_cropped_frame_by_frame_to_a_wide_box() -> None:
    made = next(iter(render_variants(_marked_animation(200, 400, 2), {"strip": parse_spec("cover:100x50")})))
    strip = made.image
    assert (strip.width, strip.height, page_height(strip), made.frames) == (100, 100, 50, 2)
    assert (made.still.width, made.still.height) == (100, 50)
    for i in range(2):
        frame = strip.crop(0, i * 50, 100, 50)
        assert frame.crop(0, 24, 100, 2).min() > 200, i  # the white row is in the middle
        assert round(frame.crop(0, 0, 40, 20)[2].avg()) == 255 - 80 * i, i


def test_an_animation_whose_frames_fit_the_box_is_not_cropped() -> None:
    made = next(iter(render_variants(_marked_animation(200, 200, 2), {"thumb": parse_spec("cover:100x100")})))
    assert (made.image.width, made.image.height, page_height(made.image), made.frames) == (100, 200, 100, 2)
    assert (made.still.width, made.still.height) == (100, 100)
