"""Encoders: every stored byte is written here, from pixels only, with ``keep="none"``.

``keep="none"`` makes libvips write no EXIF, XMP, IPTC, ICC or comment (jpegsave keeps EXIF unless
told otherwise); ``normalize.strip_metadata`` has already removed those fields, so this is the second
of two independent guarantees that no metadata and no payload from the upload reaches a stored copy.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyvips

from picstore.ingest.budget import Deadline
from picstore.ingest.headers import read_header
from picstore.ingest.options import IngestOptions
from picstore.ingest.result import Rendition


@dataclass(frozen=True)
class Encoding:
    """One output format and the parameters that decide its bytes."""

    format: str
    quality: int = 0
    effort: int = 0
    lossless: bool = False

    @property
    def params(self) -> str:
        """The parameters as spec options (``q=80,effort=4``), part of a variant's key digest."""
        if self.format == "jpeg":
            return f"q={self.quality}"
        if self.format == "webp":
            return (
                f"lossless,effort={self.effort}"
                if self.lossless
                else f"q={self.quality},effort={self.effort}"
            )
        if self.format == "avif":
            return f"q={self.quality},effort={self.effort}"
        return ""


def encoding_for(
    fmt: str, options: IngestOptions, *, quality: int | None = None, lossless: bool = False
) -> Encoding:
    """The Encoding of ``fmt`` under ``options``; ``quality`` overrides the option's quality."""
    if fmt == "jpeg":
        return Encoding("jpeg", quality=quality or options.jpeg_quality)
    if fmt == "webp":
        return Encoding(
            "webp", quality=quality or options.webp_quality, effort=options.webp_effort, lossless=lossless
        )
    if fmt == "avif":
        return Encoding("avif", quality=quality or options.avif_quality, effort=options.avif_effort)
    if fmt in ("png", "gif"):
        return Encoding(fmt)
    raise ValueError(f"cannot encode {fmt!r}; formats are jpeg, webp, avif, png, gif")


def encode(image: pyvips.Image, encoding: Encoding) -> bytes:
    """The bytes of ``image`` in ``encoding``; an animation strip stays animated in WebP and GIF."""
    fmt = encoding.format
    if fmt == "jpeg":
        if image.hasalpha():
            image = image.flatten(background=[255] * (image.bands - 1))
        data = image.jpegsave_buffer(Q=encoding.quality, keep="none")
    elif fmt == "webp":
        if encoding.lossless:
            data = image.webpsave_buffer(lossless=True, effort=encoding.effort, keep="none")
        else:
            data = image.webpsave_buffer(Q=encoding.quality, effort=encoding.effort, keep="none")
    elif fmt == "avif":
        data = image.heifsave_buffer(
            compression="av1", Q=encoding.quality, effort=encoding.effort, keep="none"
        )
    elif fmt == "png":
        data = image.pngsave_buffer(keep="none", compression=6)
    elif fmt == "gif":
        data = image.gifsave_buffer(keep="none")
    else:
        raise ValueError(f"cannot encode {fmt!r}")
    return bytes(data)


def rendition(
    image: pyvips.Image,
    encoding: Encoding,
    *,
    variant: str | None = None,
    spec: str | None = None,
    frame_height: int | None = None,
    deadline: Deadline | None = None,
) -> Rendition:
    """Encode ``image`` and describe the result (frame size and frame count for animations).

    With a ``deadline``, the encode (and the decode and resizes it pulls pixels through) is killed
    once the deadline passes.
    """
    height = frame_height or image.height
    frames = max(1, image.height // height)
    # The watched copy lives in this frame for the whole encode: pyvips drops the progress callback
    # together with the Python object, so it must not be a temporary.
    watched = deadline.watch(image.copy()) if deadline is not None else image
    data = encode(watched, encoding)
    if frames > 1:
        # libwebp's animation encoder merges identical consecutive frames: count what was written.
        frames = read_header(data, encoding.format).frames
    return Rendition(
        variant=variant,
        format=encoding.format,
        data=data,
        width=image.width,
        height=height,
        spec=spec,
        frames=frames,
    )
