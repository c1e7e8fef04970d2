"""Render variant presets from one decoded source: a cascade, largest first, smaller ones from larger.

Pure: pixels in, pixels out (the ingest pipeline encodes them). The caller decodes once, at the
smallest size that still covers the largest preset (JPEG shrink-on-load), and hands that image over
*in memory*. ``render_variants`` yields the presets largest first; each is resized from the smallest
image already made that is still large enough (1600 -> 640 -> 200), so every resize reads few
pixels. Animations (strips with ``page-height``) are resized frame by frame and stay animated; each
rendered animation also carries a still of its first frame for formats that cannot animate.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import pyvips

from picstore.variants.spec import VariantSpec


@dataclass(frozen=True)
class Rendered:
    """The pixels of one preset: ``image`` (an animation strip when ``frames`` > 1) and a ``still``."""

    name: str
    spec: VariantSpec
    image: pyvips.Image
    still: pyvips.Image
    width: int
    height: int  # of one frame
    frames: int = 1


def render_variants(
    source: pyvips.Image,
    presets: Mapping[str, VariantSpec],
    *,
    full_size: tuple[int, int] | None = None,
) -> Iterator[Rendered]:
    """Each preset rendered from ``source``, largest first.

    ``full_size`` is the upright size of the picture before any shrink-on-load, so that a preset's
    output size never depends on how the source was decoded; it defaults to ``source``'s own size.
    """
    frame_h = page_height(source)
    frames = source.height // frame_h
    width, height = full_size or (source.width, frame_h)
    order = sorted(presets.items(), key=lambda item: _area(item[1].resize_to(width, height)), reverse=True)
    if frames > 1:
        first = source.extract_area(0, 0, source.width, frame_h)
        for name, spec in order:
            size = spec.output_size(width, height)
            still = _crop(resize_exact(first, spec.resize_to(width, height)), spec, size)
            strip = _animated(source, spec, (width, height), frames)
            yield Rendered(name, spec, strip, still, size[0], size[1], frames)
        return
    made: list[pyvips.Image] = [source]
    del source  # from here only ``made`` holds it, so it is freed once no later preset needs it
    sizes = [spec.resize_to(width, height) for _, spec in order]
    for index, (name, spec) in enumerate(order):
        base = _base(made, sizes[index])
        resized = base if (base.width, base.height) == sizes[index] else resize_exact(base, sizes[index])
        made.append(resized.copy_memory() if resized is not base else resized)
        # Keep only what later presets will be made from; everything else is freed now.
        keep = {id(_base(made, size)) for size in sizes[index + 1 :]}
        current = made[-1]
        made = [m for m in made if id(m) in keep]
        target = _crop(current, spec, spec.output_size(width, height))
        yield Rendered(name, spec, target, target, target.width, target.height)


def _base(made: list[pyvips.Image], size: tuple[int, int]) -> pyvips.Image:
    """The smallest image in ``made`` that covers ``size``."""
    large_enough = [m for m in made if m.width >= size[0] and m.height >= size[1]]
    # The caller decodes at a size that covers every preset; max() only guards rounding.
    return min(large_enough, key=_pixels) if large_enough else max(made, key=_pixels)


def page_height(image: pyvips.Image) -> int:
    """Height of one frame: ``page-height`` for an animation strip, else the image height."""
    if image.get_typeof("page-height") != 0:
        value = int(image.get("page-height"))
        if 0 < value <= image.height and image.height % value == 0:
            return value
    return int(image.height)


def resize_exact(image: pyvips.Image, size: tuple[int, int]) -> pyvips.Image:
    """``image`` resized to exactly ``size`` per frame (the caller's arithmetic keeps the aspect).

    thumbnail_image premultiplies alpha and resizes an animation strip frame by frame (it honours
    page-height); ``size="force"`` makes the result the computed size, not libvips' own rounding.
    """
    if (image.width, page_height(image)) == size:
        return image
    return image.thumbnail_image(size[0], height=size[1], size="force")


def _crop(image: pyvips.Image, spec: VariantSpec, size: tuple[int, int]) -> pyvips.Image:
    if spec.mode != "cover" or (image.width, image.height) == size:
        return image
    return image.smartcrop(size[0], size[1], interesting=spec.crop)


def _animated(source: pyvips.Image, spec: VariantSpec, full: tuple[int, int], frames: int) -> pyvips.Image:
    resized = resize_exact(source, spec.resize_to(*full))
    size = spec.output_size(*full)
    frame_h = resized.height // frames
    if spec.mode == "cover" and (resized.width, frame_h) != size:
        # smartcrop would crop the strip as one image; crop every frame at the same (centred) place.
        left, top = (resized.width - size[0]) // 2, (frame_h - size[1]) // 2
        pages = [resized.extract_area(left, i * frame_h + top, size[0], size[1]) for i in range(frames)]
        resized = pyvips.Image.arrayjoin(pages, across=1)  # with the first page's delay and loop
        frame_h = size[1]
    resized = resized.copy()
    resized.set_type(pyvips.GValue.gint_type, "page-height", frame_h)
    return resized


def _area(size: tuple[int, int]) -> int:
    return size[0] * size[1]


def _pixels(image: pyvips.Image) -> int:
    return int(image.width * image.height)
