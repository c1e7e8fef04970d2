"""Ingest: every upload sniffed, limited, strictly decoded, cleaned and re-encoded. Pure: no I/O."""

from picstore.ingest.options import DEFAULT_VARIANTS, IngestOptions
from picstore.ingest.pipeline import ingest, probe
from picstore.ingest.result import IngestResult, Probe, Rendition

__all__ = ["DEFAULT_VARIANTS", "IngestOptions", "IngestResult", "Probe", "Rendition", "ingest", "probe"]
