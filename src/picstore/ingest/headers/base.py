"""The declared geometry of an upload, and the small helpers every header reader shares."""

from __future__ import annotations

from dataclasses import dataclass

from picstore.errors import CorruptImage, ImageRejected, TruncatedImage


@dataclass(frozen=True)
class Header:
    """What the header declares, before any pixel is decoded.

    ``width``/``height`` are the canvas as stored (before orientation). ``frames`` counts the frames the
    pipeline will decode: animation frames for GIF/APNG/animated WebP/AVIF sequences, 1 for stills, for
    MPO (first image only) and for multi-page TIFF (first page only). ``max_frame_pixels`` is the largest
    single frame or tile the decoder will allocate, when a frame may exceed the canvas (GIF).
    ``deferred`` is a structural fault found after the geometry was known (a GIF cut before its
    trailer): the pipeline raises it after the pixel limits, so that a bomb is refused as a bomb.
    """

    format: str
    width: int
    height: int
    frames: int = 1
    lossless: bool = False
    max_frame_pixels: int = 0
    deferred: ImageRejected | None = None
    #: The frames come from an animation decoder: an APNG (even one whose single animation frame
    #: replaces the default image), an animated WebP, an AVIF sequence.
    animation: bool = False

    @property
    def animated(self) -> bool:
        """True when the frames must come from an animation decoder (see ``animation``)."""
        return self.animation or self.frames > 1

    @property
    def pixels(self) -> int:
        """Pixels of one frame of the canvas."""
        return self.width * self.height


def corrupt(fmt: str, what: str) -> CorruptImage:
    """A CorruptImage whose message names the format and the fault."""
    return CorruptImage(f"the {fmt} data is corrupt ({what}); the image cannot be decoded")


def truncated(fmt: str, what: str = "the data ends early") -> TruncatedImage:
    """A TruncatedImage whose message names the format and says what is missing."""
    return TruncatedImage(
        f"the {fmt} data is truncated ({what}); upload the complete file (was the transfer cut short?)"
    )


def u16be(data: bytes, offset: int) -> int:
    """Big-endian unsigned 16-bit integer at ``offset``."""
    return int.from_bytes(data[offset : offset + 2], "big")


def u32be(data: bytes, offset: int) -> int:
    """Big-endian unsigned 32-bit integer at ``offset``."""
    return int.from_bytes(data[offset : offset + 4], "big")
