"""Ingest limits and encoding choices: one frozen object, built by the store from Settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType

from picstore.errors import ConfigError
from picstore.settings import DEFAULT_VARIANTS as SETTINGS_DEFAULT_VARIANTS
from picstore.variants.spec import parse_spec

#: Formats a variant can be rendered in.
VARIANT_FORMATS = ("jpeg", "webp", "avif", "png", "gif")

#: Default variant presets, name -> spec string (grammar in ``picstore.variants.spec`` and docs/ingest.md).
DEFAULT_VARIANTS: Mapping[str, str] = MappingProxyType(SETTINGS_DEFAULT_VARIANTS)


@dataclass(frozen=True)
class IngestOptions:
    """Everything the ingest pipeline needs to know; it reads nothing else.

    Limits: ``max_bytes`` (upload size), ``max_pixels`` (one frame, from the header), ``max_total_pixels``
    (all frames of an animation), ``max_frames``. Output: ``max_side`` caps the long side of the stored
    master; qualities and ``webp_effort`` (0-6; the WebP encode is the largest single cost of an upload,
    see docs/performance.md) apply to every encode; ``variants`` maps preset names to spec strings;
    ``variant_formats`` lists the formats each preset is rendered in.
    """

    max_bytes: int = 30_000_000
    max_pixels: int = 50_000_000
    max_total_pixels: int = 500_000_000
    max_side: int = 4096
    jpeg_quality: int = 85
    webp_quality: int = 80
    webp_effort: int = 2
    variants: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_VARIANTS))
    variant_formats: tuple[str, ...] = ("jpeg", "webp")
    #: Frames an animation may declare (security.md: a 500-frame GIF is refused from its header).
    max_frames: int = 300
    #: Pixels decoded plus encoded per upload, all frames and outputs (``ingest.budget``).
    max_work_pixels: int = 400_000_000
    #: Wall time one ingest may take before its libvips work is killed (``ingest.budget``).
    max_ingest_seconds: float = 30.0
    #: AVIF variants (only when "avif" is in ``variant_formats``; ~2 s per 1600 px image at effort 4).
    avif_quality: int = 55
    avif_effort: int = 4

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
        for key in (
            "max_bytes",
            "max_pixels",
            "max_total_pixels",
            "max_side",
            "max_frames",
            "max_work_pixels",
        ):
            if getattr(self, key) < 1:
                raise ConfigError(f"{key} must be at least 1")
        for key in ("jpeg_quality", "webp_quality", "avif_quality"):
            if not 1 <= getattr(self, key) <= 100:
                raise ConfigError(f"{key} must be 1 to 100")
        if self.max_ingest_seconds <= 0:
            raise ConfigError("max_ingest_seconds must be above 0")
        if not (0 <= self.webp_effort <= 6 and 0 <= self.avif_effort <= 9):
            raise ConfigError("webp_effort must be 0 to 6 and avif_effort 0 to 9")
