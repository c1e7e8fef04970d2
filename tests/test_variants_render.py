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
