"""The ingest pipeline (placeholder: sniff only, until the ingest issue lands)."""

from __future__ import annotations

from picstore.errors import NotAnImage, TooLarge
from picstore.ingest.options import IngestOptions
from picstore.ingest.result import IngestResult, Probe, Rendition

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
)


def probe(data: bytes, options: IngestOptions) -> Probe:
    """Check ``data`` and say what it is; raise an ImageRejected subclass when it is refused."""
    if len(data) > options.max_bytes:
        raise TooLarge(f"the upload is {len(data)} bytes; the limit is {options.max_bytes}")
    for magic, fmt in _MAGIC:
        if data.startswith(magic):
            return Probe(format=fmt, width=0, height=0)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return Probe(format="webp", width=0, height=0)
    raise NotAnImage("the data is not an image in an accepted format")


def ingest(data: bytes, options: IngestOptions) -> IngestResult:
    """Check and clean ``data``; return the master to store and its variants."""
    p = probe(data, options)
    return IngestResult(source=p, master=Rendition(None, p.format, data, p.width, p.height))
