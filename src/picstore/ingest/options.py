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


def check_range(name: str, value: float) -> None:
    """Raise ConfigError unless ``value`` lies in the range the setting ``name`` allows."""
    low: str | None = None
    high: str | None = None
    ok = True
    for rule in Settings.model_fields[name].metadata:
        if isinstance(rule, annotated_types.Ge):
            low, ok = f"{rule.ge}", ok and value >= rule.ge  # type: ignore[operator]
        elif isinstance(rule, annotated_types.Gt):
            whole = isinstance(value, int)
            low = f"{rule.gt + 1}" if whole else None  # type: ignore[operator]
            ok = ok and value > rule.gt  # type: ignore[operator]
            if not whole and not ok:
                raise ConfigError(f"{name} must be above {rule.gt}")
        elif isinstance(rule, annotated_types.Le):
            high, ok = f"{rule.le}", ok and value <= rule.le  # type: ignore[operator]
    if not ok:
        allowed = f"{low} to {high}" if low and high else f"at least {low}" if low else f"at most {high}"
        raise ConfigError(f"{name} must be {allowed}")


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
    #: Pixels decoded plus encoded per upload, all frames and outputs (``ingest.budget``).
    max_work_pixels: int = _default("max_work_pixels")
    #: Wall time one ingest may take before its libvips work is killed (``ingest.budget``).
    max_ingest_seconds: float = _default("max_ingest_seconds")
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
            if not name or name == "original" or ":" in name:
                raise ConfigError(f"invalid variant name {name!r}")
            parse_spec(text)
        for fmt in self.variant_formats:
            if fmt not in VARIANT_FORMATS:
                raise ConfigError(f"unknown variant format {fmt!r}: use {', '.join(VARIANT_FORMATS)}")
        for f in fields(self):
            if f.type in ("int", "float"):
                check_range(f.name, getattr(self, f.name))
