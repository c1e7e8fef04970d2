"""The transform spec grammar: one canonical spelling per meaning, refusals with stable codes, geometry.

Property tests (Hypothesis): every valid spec survives its canonical round trip, and no string at all makes
the parser fail other than with InvalidTransform.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from picstore.errors import InvalidTransform, NonCanonicalTransform
from picstore.transform.spec import COMPASS, ORDER, TransformSpec, parse_transform

FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def specs(draw: st.DrawFn) -> TransformSpec:
    fit = draw(st.sampled_from(["inside", "cover", "contain", "fill"]))
    side = st.integers(1, 8192)
    if fit == "inside":
        width, height = draw(st.none() | side), draw(st.none() | side)
    else:
        width, height = draw(side), draw(side)
    gravity, focus = "centre", None
    if fit == "cover":
        gravity = draw(st.sampled_from(["centre", *COMPASS, "smart", "fp"]))
        if gravity == "fp":
            focus = (draw(st.integers(0, 100)), draw(st.integers(0, 100)))
    fmt = draw(st.sampled_from(["auto", "jpeg", "webp", "avif", "png"]))
    quality = None if fmt == "png" else draw(st.none() | st.integers(1, 100))
    dpr = 100 if width is None and height is None else draw(st.integers(100, 400))
    expires = draw(st.none() | st.integers(1, 2**40 - 1))
    return TransformSpec(width, height, fit, gravity, focus, fmt, quality, dpr, expires)


@FUZZ
@given(specs())
def test_canonical_round_trip(spec: TransformSpec) -> None:
    if not spec.canonical:
        return  # the all-defaults spec has no spelling: a URL needs at least one parameter
    assert parse_transform(spec.canonical) == spec
    assert parse_transform(spec.canonical).canonical == spec.canonical


@FUZZ
@given(st.text(alphabet=st.sampled_from("whfitgqdprexcovnsaujbmp0123456789=,.:-_ %\x00é"), max_size=60))
def test_any_text_parses_to_itself_or_is_refused(text: str) -> None:
    try:
        spec = parse_transform(text)
    except InvalidTransform:
        return
    assert spec.canonical == text


@FUZZ
@given(specs(), st.data())
def test_reordered_or_repeated_parameters_are_refused(spec: TransformSpec, data: st.DataObject) -> None:
    parts = spec.canonical.split(",")
    if len(parts) < 2:
        return
    shuffled = data.draw(st.permutations(parts))
    if shuffled != parts:
        with pytest.raises(NonCanonicalTransform):
            parse_transform(",".join(shuffled))
    repeated = [*parts, data.draw(st.sampled_from(parts))]
    with pytest.raises(NonCanonicalTransform):
        parse_transform(",".join(repeated))


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("w=0640", "w=640"),
        ("h=480,w=640", "w=640,h=480"),
        ("w=640,fit=inside", "w=640"),
        ("w=9,h=9,fit=cover,g=centre", "w=9,h=9,fit=cover"),
        ("w=9,h=9,fit=cover,g=center", "w=9,h=9,fit=cover"),
        ("w=640,f=jpg", "w=640,f=jpeg"),
        ("w=640,f=auto", "w=640"),
        ("w=640,dpr=1", "w=640"),
        ("w=640,dpr=2.0", "w=640,dpr=2"),
        ("w=640,dpr=1.50", "w=640,dpr=1.5"),
        ("w=9,h=9,fit=cover,g=fp:05:50", "w=9,h=9,fit=cover,g=fp:5:50"),
    ],
)
def test_non_canonical_spellings_name_the_canonical_one(text: str, canonical: str) -> None:
    with pytest.raises(NonCanonicalTransform) as caught:
        parse_transform(text)
    assert caught.value.code == "non_canonical_transform"
    assert repr(canonical) in caught.value.message
    assert parse_transform(canonical).canonical == canonical


@pytest.mark.parametrize(
    "text",
    [
        "",
        "w",
        "w=",
        "w=0",
        "w=8193",
        "w=-5",
        "w=+5",
        "w=5.0",
        "W=5",
        "w=5,",
        ",w=5",
        "w=5,,h=5",
        "size=5",
        "w=٣",
        "fit=cover",
        "w=5,fit=cover",
        "w=5,h=5,fit=stretch",
        "w=5,g=north",
        "w=5,h=5,fit=cover,g=up",
        "w=5,h=5,fit=cover,g=fp:101:5",
        "w=5,h=5,fit=cover,g=fp:5",
        "w=5,f=gif",
        "w=5,f=png,q=80",
        "w=5,q=0",
        "w=5,q=101",
        "w=5,dpr=0.5",
        "w=5,dpr=4.5",
        "w=5,dpr=1.255",
        "dpr=2",
        "w=5,exp=0",
        "w=5,exp=99999999999999",
        "w=5 ",
        "w=5;h=5",
        "w=5&h=5",
        "x" * 200,
    ],
)
def test_invalid_specs_are_refused(text: str) -> None:
    with pytest.raises(InvalidTransform):
        parse_transform(text)


def test_parameters_are_in_the_documented_order() -> None:
    spec = TransformSpec(640, 480, "cover", "fp", (30, 60), "webp", 70, 150, 1900000000)
    assert spec.canonical == "w=640,h=480,fit=cover,g=fp:30:60,f=webp,q=70,dpr=1.5,exp=1900000000"
    assert [p.split("=")[0] for p in spec.canonical.split(",")] == list(ORDER)


def test_geometry_folds_dpr_and_leaves_out_format_quality_and_expiry() -> None:
    assert parse_transform("w=256,dpr=2,exp=1900000000").geometry == "w=512"
    assert parse_transform("w=512,f=webp,q=60").geometry == "w=512"
    assert parse_transform("w=100,h=50,fit=cover,g=smart,dpr=1.5").geometry == "w=150,h=75,fit=cover,g=smart"


@pytest.mark.parametrize(
    ("text", "source", "output", "resize"),
    [
        ("w=512,h=512", (4000, 3000), (512, 384), (512, 384)),
        ("w=512", (4000, 3000), (512, 384), (512, 384)),
        ("h=300", (4000, 3000), (400, 300), (400, 300)),
        ("w=512,h=512,fit=cover", (4000, 3000), (512, 512), (683, 512)),
        ("w=512,h=512,fit=contain", (4000, 3000), (512, 512), (512, 384)),
        ("w=512,h=100,fit=fill", (4000, 3000), (512, 100), (512, 100)),
        # never enlarged: the box shrinks (aspect kept) until it fits inside the source
        ("w=5000", (4000, 3000), (4000, 3000), (4000, 3000)),
        ("w=800,h=800,fit=cover", (400, 200), (200, 200), (400, 200)),
        ("w=256,h=256,fit=cover,dpr=2", (4000, 3000), (512, 512), (683, 512)),
    ],
)
def test_output_sizes(
    text: str, source: tuple[int, int], output: tuple[int, int], resize: tuple[int, int]
) -> None:
    spec = parse_transform(text)
    assert spec.output_size(*source) == output
    assert spec.resize_to(*source) == resize


@FUZZ
@given(specs(), st.integers(1, 5000), st.integers(1, 5000))
def test_output_never_exceeds_the_source_or_the_box(spec: TransformSpec, width: int, height: int) -> None:
    out = spec.output_size(width, height)
    resized = spec.resize_to(width, height)
    assert 1 <= out[0] <= max(width, 1) and 1 <= out[1] <= max(height, 1)
    assert resized[0] <= width and resized[1] <= height
    if spec.fit == "contain":  # resized to fit inside the box, then padded to it
        assert resized[0] <= out[0] and resized[1] <= out[1]
    else:  # resized to cover the output, then cropped to it
        assert out[0] <= resized[0] and out[1] <= resized[1]
    box_w, box_h = spec.box
    if box_w is not None:
        assert out[0] <= box_w
    if box_h is not None:
        assert out[1] <= box_h
