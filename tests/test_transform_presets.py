"""``transform_from_presets``: a render decodes the smallest stored whole-frame preset that is twice the
target's size, in the master's format, instead of the master; off (the default), always the master.

Real stores on files and SQLite; the renders are compared with ``render_transform`` called on the bytes
that should have been decoded, so the tests say which blob each render read.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image as PILImage

from picstore import ImageStore
from picstore.models import Image
from picstore.transform.render import Source, render_transform
from tests.http_support import make_image_store

KEY = "p" * 40


def _photo(width: int, height: int, fmt: str = "JPEG") -> bytes:
    """Gradients in three channels: detail a wrong source or a wrong crop changes."""
    red = PILImage.linear_gradient("L").resize((width, height))
    green = red.rotate(90).resize((width, height))
    mode = "RGBA" if fmt == "PNG" else "RGB"
    bands = (red, green, red.transpose(PILImage.Transpose.FLIP_LEFT_RIGHT))
    if fmt == "PNG":
        bands = (*bands, green)
    buf = io.BytesIO()
    PILImage.merge(mode, bands).save(buf, fmt)
    return buf.getvalue()


@pytest.fixture(params=[True, False], ids=["presets", "master"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ImageStore]:
    with make_image_store(tmp_path, transform_keys=[KEY], transform_from_presets=request.param) as s:
        s.create_tenant("acme")
        yield s


def _render(store: ImageStore, image: Image, **options: object) -> tuple[bytes, str | None]:
    """The transform's bytes, and the name of the preset it should come from (None: the master)."""
    t = store.transforms
    spec = t.spec(**options)  # type: ignore[misc]
    plan = t.plan(image, spec, spec.format)
    preset = t.source_preset(image, plan) if store.settings.transform_from_presets else None
    made = t.render(image, plan)
    if preset is None:
        expected = Source(store.read(image.id), image.format, image.width, image.height)
    else:
        expected = Source(
            store.read(image.id, preset.name, preset.format),
            image.format,
            image.width,
            image.height,
            pixels=(preset.width, preset.height),
        )
    again = render_transform(expected, plan.spec, plan.encoding, name=plan.name)
    assert made.data == again.data, "the render did not decode the blob it should have"
    return made.data, None if preset is None else preset.name


def _size(data: bytes) -> tuple[int, int]:
    with PILImage.open(io.BytesIO(data)) as img:
        return img.size


def test_a_small_rendition_of_a_large_photo_decodes_the_smallest_preset_twice_its_size(
    store: ImageStore,
) -> None:
    image = store.put(_photo(2400, 1600), "acme")  # presets: large 1600x1067, card 640x427
    on = store.settings.transform_from_presets
    data, source = _render(store, image, width=400, height=400, format="jpeg")
    assert _size(data) == (400, 267)
    assert source == ("large" if on else None)  # card (640) is under twice 400
    data, source = _render(store, image, width=300, format="webp")
    assert _size(data) == (300, 200)
    assert source == ("card" if on else None)  # the master's format (JPEG) only, never the WebP presets


def test_crops_follow_the_master_geometry_and_never_decode_a_cropped_preset(store: ImageStore) -> None:
    image = store.put(_photo(2400, 1600), "acme")  # thumb is a 200x200 crop: never a source
    on = store.settings.transform_from_presets
    data, source = _render(store, image, width=90, height=90, fit="cover", focus=(20, 80), format="jpeg")
    assert _size(data) == (90, 90)
    assert source == ("card" if on else None)
    # Too large for any preset twice over: the master.
    data, source = _render(store, image, width=1000, format="jpeg")
    assert (_size(data), source) == ((1000, 667), None)


def test_a_rendition_from_a_preset_looks_like_the_one_from_the_master(tmp_path: Path) -> None:
    renders = []
    for name, from_presets in (("on", True), ("off", False)):
        with make_image_store(
            tmp_path / name, transform_keys=[KEY], transform_from_presets=from_presets
        ) as s:
            s.create_tenant("acme")
            image = s.put(_photo(2400, 1600), "acme")
            renders.append(_render(s, image, width=400, height=400, format="png")[0])
    with PILImage.open(io.BytesIO(renders[0])) as a, PILImage.open(io.BytesIO(renders[1])) as b:
        diffs = [abs(x - y) for x, y in zip(a.tobytes(), b.tobytes(), strict=True)]
    assert sum(diffs) / len(diffs) < 1.5
    assert max(diffs) < 24


def test_an_alpha_master_decodes_itself_not_its_jpeg_or_webp_presets(tmp_path: Path) -> None:
    with make_image_store(tmp_path, transform_keys=[KEY], transform_from_presets=True) as store:
        store.create_tenant("acme")
        image = store.put(_photo(2400, 1600, "PNG"), "acme")
        assert image.format == "png" and {v.format for v in image.variants} == {"jpeg", "webp"}
        data, source = _render(store, image, width=300, format="png")
        assert (_size(data), source) == ((300, 200), None)
        with PILImage.open(io.BytesIO(data)) as img:
            assert img.mode == "RGBA"  # the JPEG preset would have lost the alpha
