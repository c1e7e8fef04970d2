"""Variant specs: the grammar, one canonical spelling per spec, and the sizes each mode promises."""

from __future__ import annotations

import pytest

from picstore.errors import ConfigError
from picstore.ingest import DEFAULT_VARIANTS
from picstore.variants import VariantSpec, canonicalize, parse_spec


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("cover:200x200", "cover:200x200"),
        ("  COVER : 200 x 200 ", "cover:200x200"),
        ("cover:200", "cover:200x200"),
        ("cover:200x200,crop=center", "cover:200x200"),
        ("cover:200x200,q=70,crop=attention", "cover:200x200,crop=attention,q=70"),
        ("fit:1600", "fit:1600x1600"),
        ("width:640", "width:640"),
        ("height:480,q=90", "height:480,q=90"),
    ],
)
def test_canonical_form(text: str, canonical: str) -> None:
    assert canonicalize(text) == canonical
    assert canonicalize(canonical) == canonical  # idempotent


def test_default_presets_parse() -> None:
    assert {name: str(parse_spec(text)) for name, text in DEFAULT_VARIANTS.items()} == {
        "thumb": "cover:200x200",
        "card": "width:640",
        "large": "fit:1600x1600",
    }


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "expected e.g."),
        ("scale:2", "mode must be"),
        ("width:640x480", "one number"),
        ("fit:0x10", "sizes must be"),
        ("fit:99999", "sizes must be"),
        ("fit:100x100,crop=attention", "unknown or invalid option"),
        ("cover:100x100,crop=faces", "crop must be"),
        ("cover:100x100,q=0", "unknown or invalid option"),
        ("cover:100x100,effort=3", "unknown or invalid option"),
        ("200x200", "expected e.g."),
    ],
)
def test_invalid_specs_say_what_is_expected(text: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match) as info:
        parse_spec(text)
    assert repr(text) in info.value.message
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("spec", "source", "resize", "output"),
    [
        ("fit:1600x1600", (4000, 3000), (1600, 1200), (1600, 1200)),
        ("fit:1600x1600", (3000, 4000), (1200, 1600), (1200, 1600)),
        ("fit:1600x1600", (800, 600), (800, 600), (800, 600)),  # never enlarged
        ("width:640", (4000, 3000), (640, 480), (640, 480)),
        ("width:640", (4000, 10), (640, 2), (640, 2)),
        ("height:480", (4000, 3000), (640, 480), (640, 480)),
        ("cover:200x200", (4000, 3000), (267, 200), (200, 200)),
        ("cover:200x200", (3000, 4000), (200, 267), (200, 200)),
        ("cover:200x100", (4000, 3000), (200, 150), (200, 100)),
        ("cover:200x200", (300, 100), (300, 100), (100, 100)),  # smaller source: same aspect, no upscale
        ("cover:200x200", (128, 128), (128, 128), (128, 128)),
        ("width:640", (1, 1), (1, 1), (1, 1)),
    ],
)
def test_sizes(spec: str, source: tuple[int, int], resize: tuple[int, int], output: tuple[int, int]) -> None:
    parsed = parse_spec(spec)
    assert parsed.resize_to(*source) == resize
    assert parsed.output_size(*source) == output


def test_spec_is_a_value() -> None:
    assert (
        parse_spec("cover:200") == parse_spec("cover:200x200,crop=centre") == VariantSpec("cover", 200, 200)
    )
    assert len({parse_spec("fit:10"), parse_spec("fit:10x10")}) == 1
