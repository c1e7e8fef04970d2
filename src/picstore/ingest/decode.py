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
        if header.animated:
            # Animations are never rotated (normalize), so they stay a stream whatever their tag says.
            return frame_cache(image) if sequential else image
        if sequential and orientation(image) > 1:
            image = _load_vips(data, header, shrink=shrink, sequential=False)
        return image


def frame_cache(strip: pyvips.Image) -> pyvips.Image:
    """``strip`` (an animation decoded as a stream) behind a cache of its last two whole frames.

    The GIF and WebP animation decoders can only step forward: a request for an earlier frame
    replays the animation from frame 0. libvips' shrinks and reduces, run on several threads, do
    ask again for lines of the frame before the one being decoded (their windows straddle the frame
    boundary and the stream's own line cache is shorter than a frame), so without this cache a
    resize of an n-frame strip decoded O(n^2) frames: 20 frames of 1600x1600 took 20x the time of
    5 (benchmarks/animation.py). With it every frame is decoded once per pass, in order, and the
    cost is linear in the frames. It holds two frames (8 bytes a pixel of one frame, RGBA).
    """
    frame_h = int(strip.get("page-height")) if strip.get_typeof("page-height") else strip.height
    return strip.tilecache(tile_width=strip.width, tile_height=frame_h, max_tiles=2, threaded=True)


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
