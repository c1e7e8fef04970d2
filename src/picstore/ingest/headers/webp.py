"""WebP: the RIFF container, the first image chunk, and the ANMF frames of an animation."""

from __future__ import annotations

from picstore.ingest.headers.base import Header, corrupt, truncated


def _u24le(data: bytes, i: int) -> int:
    return int.from_bytes(data[i : i + 3], "little")


def read_webp(data: bytes) -> Header:
    """Canvas size, frame count and whether the bitstream is lossless (VP8L)."""
    n = len(data)
    riff_end = 8 + int.from_bytes(data[4:8], "little")
    if riff_end > n:
        raise truncated("WebP", f"the RIFF header declares {riff_end} bytes, the upload has {n}")
    if n < 20:
        raise truncated("WebP", "no image chunk")
    kind = data[12:16]
    if kind == b"VP8 ":
        if n < 30 or data[23:26] != b"\x9d\x01\x2a":
            raise corrupt("WebP", "bad VP8 frame header")
        width = int.from_bytes(data[26:28], "little") & 0x3FFF
        height = int.from_bytes(data[28:30], "little") & 0x3FFF
        return _still(width, height, lossless=False)
    if kind == b"VP8L":
        if n < 25 or data[20] != 0x2F:
            raise corrupt("WebP", "bad VP8L signature")
        bits = int.from_bytes(data[21:25], "little")
        return _still((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1, lossless=True)
    if kind == b"VP8X":
        if n < 30:
            raise truncated("WebP", "the VP8X chunk is cut off")
        width, height = _u24le(data, 24) + 1, _u24le(data, 27) + 1
        return _extended(data, riff_end, width, height, animated=bool(data[20] & 0x02))
    raise corrupt("WebP", f"unknown first chunk {kind!r}")


def _still(width: int, height: int, *, lossless: bool) -> Header:
    if width == 0 or height == 0:
        raise corrupt("WebP", f"the frame is {width}x{height}")
    return Header("webp", width, height, lossless=lossless)


def _extended(data: bytes, riff_end: int, width: int, height: int, *, animated: bool) -> Header:
    """Walk the chunks: count ANMF frames (each within the canvas) and see whether the image is VP8L."""
    frames = 0
    lossless = True
    i = 12
    while i + 8 <= riff_end:
        kind = data[i : i + 4]
        size = int.from_bytes(data[i + 4 : i + 8], "little")
        body = i + 8
        if body + size > riff_end:
            raise truncated("WebP", f"the {kind.decode('latin-1')!r} chunk is cut off")
        if kind == b"ANMF":
            if size < 16:
                raise corrupt("WebP", "ANMF chunk too short")
            fx, fy = _u24le(data, body) * 2, _u24le(data, body + 3) * 2
            fw, fh = _u24le(data, body + 6) + 1, _u24le(data, body + 9) + 1
            if fx + fw > width or fy + fh > height:
                raise corrupt("WebP", f"a {fw}x{fh} frame at {fx},{fy} exceeds the {width}x{height} canvas")
            frames += 1
            lossless = lossless and _bitstreams(data, body + 16, body + size) == {b"VP8L"}
        elif kind == b"VP8 ":
            lossless = False
        i = body + size + (size & 1)
    if animated and frames == 0:
        raise corrupt("WebP", "an animation without frames")
    frames = max(frames, 1) if animated else 1
    return Header("webp", width, height, frames=frames, lossless=lossless, animation=animated)


def _bitstreams(data: bytes, i: int, end: int) -> set[bytes]:
    """The image bitstream kinds (VP8/VP8L) among the sub-chunks of one ANMF frame."""
    kinds: set[bytes] = set()
    while i + 8 <= end:
        kind = data[i : i + 4]
        size = int.from_bytes(data[i + 4 : i + 8], "little")
        if kind in (b"VP8 ", b"VP8L"):
            kinds.add(kind)
        i += 8 + size + (size & 1)
    return kinds
