"""GIF: the logical screen, then the whole block list (frames, their sizes, and the trailer)."""

from __future__ import annotations

from picstore.errors import CorruptImage, TruncatedImage
from picstore.ingest.headers.base import Header, corrupt, truncated


def read_gif(data: bytes) -> Header:
    """Canvas size, frame count and largest frame, walking every block to the trailer.

    libvips decodes a GIF cut before its trailer without complaint (the missing frames just are not
    there), so the walk itself refuses a GIF that ends before its trailer.
    """
    n = len(data)
    if n < 13:
        raise truncated("GIF", "the screen descriptor is cut off")
    width = int.from_bytes(data[6:8], "little")
    height = int.from_bytes(data[8:10], "little")
    if width == 0 or height == 0:
        raise corrupt("GIF", f"the screen is {width}x{height}")
    packed = data[10]
    i = 13 + (3 << ((packed & 7) + 1) if packed & 0x80 else 0)
    sizes: list[int] = []  # pixels of each frame seen, kept when the walk fails half-way
    deferred: TruncatedImage | CorruptImage | None = None
    try:
        _walk_blocks(data, i, sizes)
    except (TruncatedImage, CorruptImage) as fault:
        deferred = fault
    if not sizes and deferred is None:
        raise corrupt("GIF", "no image in the file")
    return Header(
        "gif",
        width,
        height,
        frames=max(len(sizes), 1),
        lossless=True,
        max_frame_pixels=max(sizes, default=0),
        deferred=deferred,
    )


def _walk_blocks(data: bytes, i: int, sizes: list[int]) -> None:
    """Walk the blocks from ``i`` to the trailer, appending each frame's declared pixels to ``sizes``."""
    n = len(data)
    while True:
        if i >= n:
            raise truncated("GIF", "the data ends before the GIF trailer")
        block = data[i]
        if block == 0x3B:
            break
        if block == 0x21:
            i = _skip_sub_blocks(data, i + 2)
        elif block == 0x2C:
            if i + 10 > n:
                raise truncated("GIF", "an image descriptor is cut off")
            fw = int.from_bytes(data[i + 5 : i + 7], "little")
            fh = int.from_bytes(data[i + 7 : i + 9], "little")
            fpacked = data[i + 9]
            i += 10 + (3 << ((fpacked & 7) + 1) if fpacked & 0x80 else 0)
            sizes.append(fw * fh)
            # +1 skips the LZW minimum code size byte that precedes the image data sub-blocks.
            i = _skip_sub_blocks(data, i + 1)
        else:
            raise corrupt("GIF", f"unknown block type 0x{block:02X}")


def _skip_sub_blocks(data: bytes, i: int) -> int:
    """Index just past the zero-length block that ends a run of data sub-blocks starting at ``i``."""
    n = len(data)
    while True:
        if i >= n:
            raise truncated("GIF", "the data ends inside a data block")
        size = data[i]
        i += 1 + size
        if size == 0:
            return i
