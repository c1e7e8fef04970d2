"""Normalize decoded pixels: orient, convert to 8-bit sRGB, drop every metadata field, cap the size.

Orientation follows what browsers do, so the stored picture looks like the one the user saw: the EXIF
Orientation tag (JPEG APP1, PNG eXIf, WebP EXIF, TIFF tag 274) is applied; HEIF/AVIF irot/imir are
applied by libheif while decoding; orientation written only in XMP (``tiff:Orientation``) or in
ImageMagick's "Raw profile type exif" text chunk is ignored, as browsers ignore it. Values 0 and 9+
mean upright. Animations are not rotated (no browser rotates an animated GIF/WebP).
"""

from __future__ import annotations

import contextlib

import pyvips

from picstore.ingest.decode import orientation
from picstore.variants.render import page_height, resize_exact

__all__ = [
    "capped_size",
    "drop_opaque_alpha",
    "normalize",
    "page_height",
    "resize_exact",
    "strip_metadata",
    "to_srgb",
]

# Fields that describe the pixels or the animation; every other field (exif-data, xmp-data,
# iptc-data, icc-profile-data, gif-comment, png-comment-*, orientation, resolution units ...) is
# metadata and is removed here, before the encoders (which also save with keep="none").
_STRUCTURAL = frozenset(
    {
        "width",
        "height",
        "bands",
        "format",
        "coding",
        "interpretation",
        "xoffset",
        "yoffset",
        "xres",
        "yres",
        "page-height",
        "n-pages",
        "delay",
        "loop",
    }
)


def normalize(image: pyvips.Image, *, animated: bool) -> pyvips.Image:
    """Upright (stills), 8-bit sRGB or grey, alpha only when it is not opaque, no metadata."""
    if not animated and orientation(image) > 1:
        image = image.autorot()
    image = to_srgb(image)
    return strip_metadata(image)


def to_srgb(image: pyvips.Image) -> pyvips.Image:
    """8-bit sRGB (or 8-bit grey): CMYK and embedded profiles converted, 16-bit reduced."""
    profile = _profile(image)
    if image.interpretation == "cmyk":
        # A CMYK JPEG without a profile is converted with libvips' built-in CMYK profile.
        image = image.icc_transform("srgb", embedded=profile is not None, input_profile="cmyk")
    elif profile is not None and not _is_srgb(profile):
        # A broken profile is ignored, as browsers do: the pixels are taken as sRGB.
        with contextlib.suppress(pyvips.Error):
            image = image.icc_transform("srgb", embedded=True)
    grey = image.interpretation in ("b-w", "grey16") or (
        image.bands in (1, 2) and image.interpretation != "srgb"
    )
    target = "b-w" if grey else "srgb"
    if image.interpretation != target or image.format != "uchar":
        image = image.colourspace(target)  # into b-w or sRGB, libvips always writes 8 bits a sample
    return image


def drop_opaque_alpha(image: pyvips.Image) -> pyvips.Image:
    """The image without its alpha band when every pixel is fully opaque (pulls the alpha band once)."""
    if image.hasalpha() and image[image.bands - 1].min() >= 255:
        return image.extract_band(0, n=image.bands - 1)
    return image


def strip_metadata(image: pyvips.Image) -> pyvips.Image:
    """A copy of ``image`` with only structural fields left."""
    image = image.copy()
    for name in image.get_fields():
        if name not in _STRUCTURAL:
            image.remove(name)
    return image


def capped_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    """``width`` x ``height`` shrunk so that the long side is at most ``max_side``; never enlarged."""
    longest = max(width, height)
    if longest <= max_side:
        return width, height
    scale = max_side / longest
    return max(1, round(width * scale)), max(1, round(height * scale))


def _profile(image: pyvips.Image) -> bytes | None:
    if image.get_typeof("icc-profile-data") == 0:
        return None
    data = image.get("icc-profile-data")
    return bytes(data) if data else None


def _is_srgb(profile: bytes) -> bool:
    """Whether the profile's description names sRGB: converting sRGB to sRGB is a no-op costing a
    full pass over the pixels, which matters at 12 MP (most camera and phone JPEGs embed sRGB)."""
    if len(profile) < 132:
        return False
    count = int.from_bytes(profile[128:132], "big")
    for k in range(min(count, 100)):
        entry = 132 + 12 * k
        if profile[entry : entry + 4] == b"desc":
            offset = int.from_bytes(profile[entry + 4 : entry + 8], "big")
            size = int.from_bytes(profile[entry + 8 : entry + 12], "big")
            text = profile[offset : offset + min(size, 512)]
            return b"sRGB" in text or b"s\x00R\x00G\x00B" in text
    return False
