"""Strict decoding: one named loader per accepted format, ``fail_on="error"``, never a sniffing loader.

Every libvips loader is called by name (``jpegload_buffer``, ...) with ``fail_on="error"`` as a load
option, so truncated or corrupt data raises instead of being padded with grey. ``error`` is the level
that fits the corpus: ``warning`` refuses valid JPEGs with junk between their markers, ``truncated``
lets PNGs with bad CRCs through. Random-access decodes stay in RAM (``disc=False``: the pipeline does
no file I/O; the header checks bound how much RAM that is).

Formats libvips cannot decode here go through ``picstore.ingest.frames`` (Pillow / pillow-heif).
The result is a lazy image: pixels are decoded, and errors found, when something pulls them, which
the pipeline does inside ``decoder_errors``.
"""

from __future__ import annotations

from typing import Any

import pyvips

from picstore.formats import label
from picstore.ingest import frames
from picstore.ingest.headers import Header
from picstore.ingest.libvips import decoder_errors


def can_shrink_on_load(header: Header) -> bool:
    """Whether ``load`` can decode ``header``'s image at 1/2, 1/4 or 1/8 size (JPEG DCT scaling)."""
    return header.format == "jpeg"


def load(data: bytes, header: Header, *, shrink: int = 1, sequential: bool = False) -> pyvips.Image:
    """A lazy, strict decode of ``data``; animations come back as one tall strip with ``page-height``.

    ``shrink`` (1, 2, 4 or 8) decodes a JPEG at reduced size. ``sequential`` asks for a top-to-bottom
    stream that keeps only a few scanlines in memory; an image that must be rotated or flipped is
    decoded for random access instead, since libvips cannot rotate a stream.
    """
    name = label(header.format)
    with decoder_errors(name):
        if header.format == "heic":
            return frames.load_heic(data)
        if header.animated and header.format in ("png", "avif"):
            return frames.load_animation(data, header.format)
        image = _load_vips(data, header, shrink=shrink, sequential=sequential)
        if sequential and orientation(image) > 1:
            image = _load_vips(data, header, shrink=shrink, sequential=False)
        return image


def orientation(image: pyvips.Image) -> int:
    """The EXIF orientation libvips read (1 when absent or out of range: 0 and 9 mean "upright")."""
    if image.get_typeof("orientation") == 0:
        return 1
    value = int(image.get("orientation"))
    return value if 1 <= value <= 8 else 1


def _load_vips(data: bytes, header: Header, *, shrink: int, sequential: bool) -> pyvips.Image:
    # A stream keeps a few scanlines; random access decodes into memory. disc=False keeps a large
    # random-access decode in RAM instead of a temporary file (the pipeline does no file I/O), but
    # it must not be set on a stream: it would make libvips decode the whole image first.
    options: dict[str, Any] = {"fail_on": "error"}
    if sequential:
        options["access"] = "sequential"
    else:
        options["disc"] = False
    fmt = header.format
    if fmt == "jpeg":
        return pyvips.Image.jpegload_buffer(data, shrink=shrink, **options)
    if fmt == "png":
        return pyvips.Image.pngload_buffer(data, **options)
    if fmt == "gif":
        return pyvips.Image.gifload_buffer(data, n=-1 if header.animated else 1, **options)
    if fmt == "webp":
        return pyvips.Image.webpload_buffer(data, n=-1 if header.animated else 1, **options)
    if fmt == "tiff":
        return pyvips.Image.tiffload_buffer(data, page=0, n=1, **options)
    if fmt == "avif":
        return pyvips.Image.heifload_buffer(data, page=0, n=1, **options)
    raise AssertionError(f"no loader for {fmt!r}")  # sniff only answers formats listed above
