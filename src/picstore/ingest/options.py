"""Ingest limits and encoding choices: one frozen object, built by the store from Settings.

Invariant: :class:`~picstore.settings.Settings` is the one source of every default and range. A field
here takes its default from the setting of the same name and is checked against that setting's bounds,
so code that builds IngestOptions directly (tests, tools) gets exactly what configuration would allow.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any

import annotated_types

from picstore.errors import ConfigError
from picstore.formats import STORED_FORMATS
from picstore.settings import DEFAULT_VARIANTS as SETTINGS_DEFAULT_VARIANTS
from picstore.settings import Settings
from picstore.variants.spec import parse_spec

#: Formats a variant can be rendered in: the stored formats.
VARIANT_FORMATS = STORED_FORMATS

#: Default variant presets, name -> spec string (grammar in ``picstore.variants.spec`` and docs/ingest.md).
DEFAULT_VARIANTS: Mapping[str, str] = MappingProxyType(SETTINGS_DEFAULT_VARIANTS)


def _default(name: str) -> Any:
    return Settings.model_fields[name].get_default(call_default_factory=True)


def bounds(name: str) -> tuple[int | None, int | None]:
    """The inclusive (low, high) range of the integer setting ``name``; None where it is open."""
    low = high = None
    for rule in Settings.model_fields[name].metadata:
        if isinstance(rule, annotated_types.Ge):
            low = int(rule.ge)  # type: ignore[call-overload]
        elif isinstance(rule, annotated_types.Gt):
            low = int(rule.gt) + 1  # type: ignore[call-overload]
        elif isinstance(rule, annotated_types.Le):
            high = int(rule.le)  # type: ignore[call-overload]
        elif isinstance(rule, annotated_types.Lt):
            high = int(rule.lt) - 1  # type: ignore[call-overload]
    return low, high


@dataclass(frozen=True)
class IngestOptions:
    """Everything the ingest pipeline needs to know; it reads nothing else.

    Limits: ``max_bytes`` (upload size), ``max_pixels`` (one frame, from the header), ``max_total_pixels``
    (all frames of an animation), ``max_frames``. Output: ``max_side`` caps the long side of the stored
    master; qualities and ``webp_effort`` (0-6; the WebP encode is the largest single cost of an upload,
    see docs/performance.md) apply to every encode; ``variants`` maps preset names to spec strings;
    ``variant_formats`` lists the formats each preset is rendered in.
    """

    max_bytes: int = _default("max_bytes")
    max_pixels: int = _default("max_pixels")
    max_total_pixels: int = _default("max_total_pixels")
    max_side: int = _default("max_side")
    jpeg_quality: int = _default("jpeg_quality")
    webp_quality: int = _default("webp_quality")
    webp_effort: int = _default("webp_effort")
    variants: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_VARIANTS))
    variant_formats: tuple[str, ...] = _default("variant_formats")
    #: Frames an animation may declare (security.md: a 500-frame GIF is refused from its header).
    max_frames: int = _default("max_frames")
    #: AVIF variants (only when "avif" is in ``variant_formats``; ~2 s per 1600 px image at effort 4).
    avif_quality: int = _default("avif_quality")
    avif_effort: int = _default("avif_effort")

    @classmethod
    def from_settings(cls, settings: object) -> IngestOptions:
        """The options that ``settings`` (a :class:`~picstore.settings.Settings`) describes.

        Every field of this class is read from the attribute of the same name, so a new ingest setting
        is one field here and one in Settings.
        """
        values = {f.name: getattr(settings, f.name) for f in fields(cls) if hasattr(settings, f.name)}
        if "variants" in values:
            values["variants"] = dict(values["variants"])
        if "variant_formats" in values:
            values["variant_formats"] = tuple(values["variant_formats"])
        return cls(**values)

    def __post_init__(self) -> None:
        # Fail when the store is configured, not on the first upload.
        for name, text in self.variants.items():
            if not name or name == "original":
                raise ConfigError(f"invalid variant name {name!r}")
            parse_spec(text)
        for fmt in self.variant_formats:
            if fmt not in VARIANT_FORMATS:
                raise ConfigError(f"unknown variant format {fmt!r}: use {', '.join(VARIANT_FORMATS)}")
        for f in fields(self):
            if f.type != "int":
                continue
            low, high = bounds(f.name)
            value = getattr(self, f.name)
            if (low is not None and value < low) or (high is not None and value > high):
                allowed = f"at least {low}" if high is None else f"{low} to {high}"
                raise ConfigError(f"{f.name} must be {allowed}")
