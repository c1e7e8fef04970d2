"""PNG and APNG: IHDR, the chunks before the first IDAT, and for APNG every chunk (CRC and frame list)."""

from __future__ import annotations

import zlib

from picstore.ingest.headers.base import Header, corrupt, truncated, u32be

_VALID_DEPTHS = {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}
_MAX_DIMENSION = 2**31 - 1


def read_png(data: bytes) -> Header:
    """IHDR geometry; APNG frame count from acTL, with every chunk's CRC checked for APNG.

    libpng checks the CRCs of a still PNG while decoding; APNG frames are decoded by Pillow, which does
    not check the CRC of frame data, so for APNG the walk checks every chunk here.
    """
    n = len(data)
    if n < 33:
        raise truncated("PNG", "the header chunk is cut off")
    if data[12:16] != b"IHDR" or u32be(data, 8) != 13:
        raise corrupt("PNG", "the first chunk is not a valid IHDR")
    width, height = u32be(data, 16), u32be(data, 20)
    depth, colour, compression, filtering, interlace = data[24:29]
    if not (0 < width <= _MAX_DIMENSION and 0 < height <= _MAX_DIMENSION):
        raise corrupt("PNG", f"IHDR declares {width}x{height}")
    if depth not in _VALID_DEPTHS.get(colour, ()):
        raise corrupt("PNG", f"colour type {colour} with bit depth {depth}")
    if compression != 0 or filtering != 0 or interlace not in (0, 1):
        raise corrupt("PNG", "IHDR declares an unknown compression, filter or interlace method")
    frames = 1
    animation = False
    default_in_animation = False
    i = 8
    while True:
        if i + 8 > n:
            raise truncated("PNG", "the data ends before the image data")
        length, kind = u32be(data, i), data[i + 4 : i + 8]
        end = i + 12 + length
        if end > n:
            raise truncated("PNG", f"the {kind.decode('latin-1')!r} chunk is cut off")
        _check_crc(data, i, length, kind)
        if kind == b"IDAT":
            break
        if kind == b"acTL":
            if length != 8:
                raise corrupt("PNG", "acTL chunk has the wrong length")
            frames = u32be(data, i + 8)
            if frames == 0:
                raise corrupt("APNG", "acTL declares zero frames")
            animation = True
        elif kind == b"fcTL":
            default_in_animation = True
        i = end
    # An APNG whose default image is not part of the animation shows its fdAT frames in browsers,
    # even when there is only one of them; one that starts with its default image and has a single
    # frame is a plain PNG.
    animation = animation and (frames > 1 or not default_in_animation)
    if animation:
        _walk_animation(data, i, width, height)
    elif data.find(b"IEND", i) < 0:
        # libpng reports a cut IDAT as a generic read error; name the usual cause here instead.
        raise truncated("PNG", "no IEND chunk: the data ends inside the image data")
    return Header("png", width, height, frames=frames, lossless=True, animation=animation)


def _walk_animation(data: bytes, i: int, width: int, height: int) -> None:
    """Check every remaining chunk's CRC, each fcTL against the canvas, and that IEND arrives."""
    n = len(data)
    while True:
        if i + 8 > n:
            raise truncated("APNG", "the data ends before the IEND chunk")
        length, kind = u32be(data, i), data[i + 4 : i + 8]
        end = i + 12 + length
        if end > n:
            raise truncated("APNG", f"the {kind.decode('latin-1')!r} chunk is cut off")
        _check_crc(data, i, length, kind)
        if kind == b"fcTL":
            if length != 26:
                raise corrupt("APNG", "fcTL chunk has the wrong length")
            fw, fh, fx, fy = (u32be(data, i + 12 + k) for k in (0, 4, 8, 12))
            if fw == 0 or fh == 0 or fx + fw > width or fy + fh > height:
                raise corrupt("APNG", f"a {fw}x{fh} frame at {fx},{fy} exceeds the {width}x{height} canvas")
        if kind == b"IEND":
            return
        i = end


def _check_crc(data: bytes, i: int, length: int, kind: bytes) -> None:
    body = memoryview(data)[i + 4 : i + 8 + length]
    if zlib.crc32(body) != u32be(data, i + 8 + length):
        raise corrupt("PNG", f"bad CRC in the {kind.decode('latin-1')!r} chunk")
