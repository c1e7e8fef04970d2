"""IngestOptions: every bound checked when the store is configured, at its edges, with the message."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from picstore.errors import ConfigError
from picstore.ingest.options import DEFAULT_VARIANTS, VARIANT_FORMATS, IngestOptions


def _refused(**values: Any) -> str:
    with pytest.raises(ConfigError) as caught:
        IngestOptions(**values)
    return caught.value.message


@pytest.mark.parametrize(
    "name", ["max_bytes", "max_pixels", "max_total_pixels", "max_side", "max_frames", "max_work_pixels"]
)
def test_limits_are_at_least_one(name: str) -> None:
    assert getattr(IngestOptions(**{name: 1}), name) == 1
    assert _refused(**{name: 0}) == f"{name} must be at least 1"


@pytest.mark.parametrize("name", ["jpeg_quality", "webp_quality", "avif_quality"])
def test_qualities_are_1_to_100(name: str) -> None:
    for ok in (1, 100):
        assert getattr(IngestOptions(**{name: ok}), name) == ok
    for bad in (0, 101):
        assert _refused(**{name: bad}) == f"{name} must be 1 to 100"


@pytest.mark.parametrize(("name", "low", "high"), [("webp_effort", 0, 6), ("avif_effort", 0, 9)])
def test_efforts(name: str, low: int, high: int) -> None:
    for ok in (low, high):
        assert getattr(IngestOptions(**{name: ok}), name) == ok
    for bad in (low - 1, high + 1):
        assert _refused(**{name: bad}) == f"{name} must be {low} to {high}"


def test_the_ingest_time_limit_is_above_zero() -> None:
    assert IngestOptions(max_ingest_seconds=0.001).max_ingest_seconds == 0.001
    for bad in (0.0, -1.0):
        assert _refused(max_ingest_seconds=bad) == "max_ingest_seconds must be above 0"


def test_variant_names_and_specs_are_checked() -> None:
    assert _refused(variants={"": "fit:10"}) == "invalid variant name ''"
    assert _refused(variants={"original": "fit:10"}) == "invalid variant name 'original'"
    with pytest.raises(ConfigError, match="invalid variant spec 'fit:0'"):
        IngestOptions(variants={"x": "fit:0"})
    assert IngestOptions(variants={}).variants == {}


def test_variant_formats_are_checked() -> None:
    assert IngestOptions(variant_formats=("jpeg", "webp", "avif", "png", "gif")).variant_formats
    assert _refused(variant_formats=("jpeg", "bmp")) == (
        f"unknown variant format 'bmp': use {', '.join(VARIANT_FORMATS)}"
    )


def test_defaults() -> None:
    options = IngestOptions()
    assert dict(options.variants) == dict(DEFAULT_VARIANTS)
    assert options.variant_formats == ("jpeg", "webp")
    assert (options.max_bytes, options.max_pixels, options.max_total_pixels) == (
        30_000_000,
        50_000_000,
        500_000_000,
    )
    assert (options.max_side, options.max_frames) == (4096, 300)
    assert (options.jpeg_quality, options.webp_quality, options.avif_quality) == (85, 80, 55)
    assert (options.webp_effort, options.avif_effort) == (2, 4)
    assert (options.max_work_pixels, options.max_ingest_seconds) == (400_000_000, 30.0)


def test_from_settings_reads_every_field_of_the_same_name() -> None:
    settings = SimpleNamespace(
        max_bytes=10,
        max_frames=3,
        variants={"t": "cover:10"},
        variant_formats=["png"],
        unrelated="ignored",
    )
    options = IngestOptions.from_settings(settings)
    assert (options.max_bytes, options.max_frames) == (10, 3)
    assert options.variants == {"t": "cover:10"} and options.variants is not settings.variants
    assert options.variant_formats == ("png",)
    assert options.max_pixels == 50_000_000  # absent from settings: the default


def test_from_real_settings() -> None:
    from picstore.settings import load_settings

    options = IngestOptions.from_settings(load_settings(max_bytes=1234, webp_effort=5))
    assert (options.max_bytes, options.webp_effort) == (1234, 5)
