"""The limits an upload must fit before anything is decoded: bytes, pixels per frame, frames, total."""

from __future__ import annotations

from picstore.errors import TooLarge, TooManyPixels
from picstore.ingest.headers import Header
from picstore.ingest.options import IngestOptions


def check_bytes(size: int, options: IngestOptions) -> None:
    """Refuse an upload larger than ``options.max_bytes``."""
    if size > options.max_bytes:
        raise TooLarge(f"the upload is {size:,} bytes; the limit is {options.max_bytes:,} bytes")


def check_pixels(header: Header, options: IngestOptions) -> None:
    """Refuse a header that declares more pixels or frames than the options allow.

    Three limits, because bombs come in three shapes: one huge frame (a 65535x65535 PNG), many frames
    on a reasonable canvas (3,000 frames of 2000x2000), and a frame or tile larger than its canvas.
    """
    mp = options.max_pixels / 1e6
    if header.pixels > options.max_pixels:
        raise TooManyPixels(
            f"the image declares {header.width:,}x{header.height:,} pixels ({header.pixels / 1e6:,.1f} MP); "
            f"the limit is {mp:,.1f} MP per frame"
        )
    if header.max_frame_pixels > options.max_pixels:
        raise TooManyPixels(
            f"the image declares a frame or tile of {header.max_frame_pixels / 1e6:,.1f} MP; "
            f"the limit is {mp:,.1f} MP per frame"
        )
    if header.frames > options.max_frames:
        raise TooManyPixels(
            f"the animation declares {header.frames:,} frames; the limit is {options.max_frames:,}"
        )
    total = header.pixels * header.frames
    if total > options.max_total_pixels:
        raise TooManyPixels(
            f"the animation declares {header.frames:,} frames of {header.width}x{header.height} "
            f"({total / 1e6:,.0f} MP in all); the limit is {options.max_total_pixels / 1e6:,.0f} MP "
            "over all frames"
        )
