"""What the ingest pipeline returns: the sanitized master and its variants, as bytes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Probe:
    """What the bytes are: the sniffed source format and its dimensions (after orientation)."""

    format: str
    width: int
    height: int
    frames: int = 1


@dataclass(frozen=True)
class Rendition:
    """One encoded output: the master (``variant`` None) or a variant in one format."""

    variant: str | None
    format: str
    data: bytes
    width: int
    height: int
    #: Canonical spec string of the variant (what its key digest is made from); None for the master.
    spec: str | None = None
    frames: int = 1


@dataclass(frozen=True)
class IngestResult:
    """The outcome of a successful ingest."""

    source: Probe
    master: Rendition
    variants: tuple[Rendition, ...] = ()
