"""Declared geometry from the header of each accepted format, read without decoding any pixel.

This is what lets the pipeline refuse a bomb in microseconds: a 44-byte GIF that declares 4.4 GP, a PNG
whose IHDR says 65535x65535, a GIF with 3,000 frames on a 4 MP canvas. Each reader walks only the
structure it needs (JPEG markers up to the first SOF, PNG chunks up to IDAT, the GIF block list, the
RIFF chunks, the first TIFF IFD, the ISO-BMFF boxes), and raises ``CorruptImage``/``TruncatedImage``
or ``UnsupportedFormat`` when the structure itself is wrong.
"""

from __future__ import annotations

from collections.abc import Callable

from picstore.ingest.headers.base import Header
from picstore.ingest.headers.gif import read_gif
from picstore.ingest.headers.isobmff import read_isobmff
from picstore.ingest.headers.jpeg import read_jpeg
from picstore.ingest.headers.png import read_png
from picstore.ingest.headers.tiff import read_tiff
from picstore.ingest.headers.webp import read_webp

__all__ = ["Header", "read_header"]

_READERS: dict[str, Callable[[bytes], Header]] = {
    "jpeg": read_jpeg,
    "png": read_png,
    "gif": read_gif,
    "webp": read_webp,
    "tiff": read_tiff,
    "avif": read_isobmff,
    "heic": read_isobmff,
}


def read_header(data: bytes, fmt: str) -> Header:
    """The header of ``data``, already sniffed as ``fmt``."""
    return _READERS[fmt](data)
