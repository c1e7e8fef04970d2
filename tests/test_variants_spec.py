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


# --- bounds, stated at the edges ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("fit:0x1", False),
        ("fit:1x0", False),
        ("fit:1x1", True),
        ("fit:8191x8192", True),
        ("fit:8192x8192", True),
        ("fit:8193x1", False),
        ("fit:1x8193", False),
        ("width:0", False),
        ("width:1", True),
        ("width:8192", True),
        ("width:8193", False),
        ("height:8192", True),
        ("height:8193", False),
    ],
)
def test_size_bounds(text: str, valid: bool) -> None:
    if valid:
        assert parse_spec(text).canonical == text
    else:
        with pytest.raises(ConfigError) as info:
            parse_spec(text)
        assert info.value.message == f"invalid variant spec {text!r}: sizes must be 1 to 8192"


@pytest.mark.parametrize(
    ("q", "valid"), [("0", False), ("1", True), ("2", True), ("99", True), ("100", True), ("101", False)]
)
def test_quality_bounds(q: str, valid: bool) -> None:
    text = f"width:100,q={q}"
    if valid:
        spec = parse_spec(text)
        assert spec.quality == int(q)
        assert spec.canonical == text
    else:
        with pytest.raises(ConfigError) as info:
            parse_spec(text)
        assert info.value.message == (f"invalid variant spec {text!r}: unknown or invalid option 'q={q}'")


def test_quality_must_be_a_number() -> None:
    with pytest.raises(ConfigError, match="unknown or invalid option 'q=ab'"):
        parse_spec("width:100,q=ab")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "",
            "expected e.g. 'fit:1600x1600', 'cover:200x200', 'width:640', 'height:480' (options: crop=, q=)",
        ),
        ("zoom:10", "mode must be one of fit, cover, width, height"),
        ("height:10x10", "height takes one number, e.g. 'height:640'"),
        ("cover:10,crop=faces", "crop must be one of centre, attention, entropy"),
        ("fit:10,crop=attention", "unknown or invalid option 'crop=attention'"),
        ("width:10,crop=entropy", "unknown or invalid option 'crop=entropy'"),
        ("fit:10,x=1", "unknown or invalid option 'x=1'"),
    ],
)
def test_refusals_are_exact(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_spec(text)
    assert info.value.message == f"invalid variant spec {text!r}: {message}"


@pytest.mark.parametrize(
    ("text", "fields"),
    [
        ("fit:30x20", ("fit", 30, 20, "centre", None)),
        ("cover:30", ("cover", 30, 30, "centre", None)),
        ("cover:30x20,crop=center", ("cover", 30, 20, "centre", None)),
        ("cover:30x20,crop=entropy,q=5", ("cover", 30, 20, "entropy", 5)),
        ("width:30", ("width", 30, 0, "centre", None)),
        ("height:20", ("height", 0, 20, "centre", None)),
    ],
)
def test_parsed_fields(text: str, fields: tuple[object, ...]) -> None:
    spec = parse_spec(text)
    assert (spec.mode, spec.width, spec.height, spec.crop, spec.quality) == fields


@pytest.mark.parametrize(
    ("spec", "canonical"),
    [
        (VariantSpec("cover", 30, 20, "attention", 70), "cover:30x20,crop=attention,q=70"),
        (VariantSpec("fit", 30, 20, "attention"), "fit:30x20"),  # crop means nothing to fit
        (VariantSpec("width", 30, 0, quality=1), "width:30,q=1"),
        (VariantSpec("height", 0, 20), "height:20"),
    ],
)
def test_canonical_of_built_specs(spec: VariantSpec, canonical: str) -> None:
    assert spec.canonical == str(spec) == canonical


@pytest.mark.parametrize(
    ("spec", "source", "resize", "output"),
    [
        # Rounding, never below one pixel.
        ("fit:10x10", (1000, 14), (10, 1), (10, 1)),
        ("fit:10x10", (1000, 16), (10, 1), (10, 1)),
        ("height:10", (14, 1000), (1, 10), (1, 10)),
        ("height:10", (16, 1000), (1, 10), (1, 10)),
        ("height:10", (26, 20), (13, 10), (13, 10)),
        ("width:10", (20, 26), (10, 13), (10, 13)),
        ("fit:100x10", (50, 50), (10, 10), (10, 10)),  # the tighter side decides
        ("fit:10x100", (50, 50), (10, 10), (10, 10)),
        # cover fills the box, then crops; a smaller source keeps the box's aspect at the size that fits.
        ("cover:100x10", (50, 50), (50, 50), (50, 5)),
        ("cover:10x100", (50, 50), (50, 50), (5, 50)),
        ("cover:100x50", (100, 50), (100, 50), (100, 50)),  # exactly the box
        ("cover:100x50", (99, 50), (99, 50), (99, 49)),
        ("cover:30x20", (45, 10), (45, 10), (15, 10)),
        ("cover:30x20", (10, 45), (10, 45), (10, 6)),
        ("cover:1x100", (50, 50), (50, 50), (1, 50)),  # never below one pixel
        ("cover:100x1", (50, 50), (50, 50), (50, 1)),
    ],
)
def test_sizes_at_the_edges(
    spec: str, source: tuple[int, int], resize: tuple[int, int], output: tuple[int, int]
) -> None:
    parsed = parse_spec(spec)
    assert parsed.resize_to(*source) == resize
    assert parsed.output_size(*source) == output
