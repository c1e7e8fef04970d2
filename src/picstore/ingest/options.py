"""Ingest limits and encoding choices: one frozen object, built by the store from Settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

#: Default variant presets, name -> spec string (parsed by ``picstore.variants.spec``).
DEFAULT_VARIANTS: Mapping[str, str] = MappingProxyType(
    {"thumb": "cover:200x200", "card": "width:640", "large": "fit:1600x1600"}
)


@dataclass(frozen=True)
class IngestOptions:
    """Everything the ingest pipeline needs to know; it reads nothing else."""

    max_bytes: int = 30_000_000
    max_pixels: int = 50_000_000
    max_total_pixels: int = 500_000_000
    max_side: int = 4096
    jpeg_quality: int = 85
    webp_quality: int = 80
    webp_effort: int = 4
    variants: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_VARIANTS))
    variant_formats: tuple[str, ...] = ("jpeg", "webp")
