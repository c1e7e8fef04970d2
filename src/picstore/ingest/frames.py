"""Decoders outside libvips: HEIC with pillow-heif, APNG and AVIF sequences with Pillow.

pyvips-binary has no HEVC decoder, and libvips reads only the default image of an APNG and the still
item of an AVIF sequence. These paths decode eagerly (all frames are in memory when they return), which
the header checks bound: frames x canvas <= ``max_total_pixels``. Pillow is limited to the one plugin
the sniffed format needs (``formats=[...]``), so no other Pillow decoder can be reached from here.
"""

from __future__ import annotations

import io

import pillow_heif
import pyvips
from PIL import Image

from picstore.errors import CorruptImage, ImageRejected, TooManyPixels, TruncatedImage

_BANDS = {"L": 1, "LA": 2, "RGB": 3, "RGBA": 4}
_PILLOW_PLUGIN = {"png": "PNG", "avif": "AVIF"}


def load_heic(data: bytes) -> pyvips.Image:
    """The primary image of a HEIC file, 8 bits a sample, with irot/imir already applied by libheif."""
    try:
        heif = pillow_heif.open_heif(data, convert_hdr_to_8bit=True)
        mode = heif.mode
        width, height = heif.size
        bands = _BANDS.get(mode)
        if bands is None:
            raise CorruptImage(f"the HEIC image has an unsupported pixel layout ({mode})")
        pixels = _packed(heif.data, heif.stride, width * bands, height)
        icc = heif.info.get("icc_profile")
    except ImageRejected:
        raise
    except Exception as error:  # pillow-heif raises several types; all mean "cannot decode"
        raise _rejection(error, "HEIC") from None
    image = pyvips.Image.new_from_memory(pixels, width, height, bands, "uchar")
    if icc:
        image = image.copy()
        image.set_type(pyvips.GValue.blob_type, "icc-profile-data", bytes(icc))
    return image.copy(interpretation="b-w" if bands <= 2 else "srgb")


def load_animation(data: bytes, fmt: str) -> pyvips.Image:
    """All frames of an APNG or AVIF sequence, composited, as an RGBA strip with page-height/delay/loop."""
    name = "APNG" if fmt == "png" else "AVIF"
    try:
        # Our own header limits ran first; Pillow's bomb check is a second wall (its warnings are not
        # turned into errors here: changing warning filters is not thread-safe).
        with Image.open(io.BytesIO(data), formats=[_PILLOW_PLUGIN[fmt]]) as source:
            width, height = source.size
            strips: list[pyvips.Image] = []
            delays: list[int] = []
            # Pillow counts an APNG default image that is not part of the animation as frame 0;
            # browsers never show it, so neither do we.
            first = 1 if source.info.get("default_image") else 0
            for index in range(first, getattr(source, "n_frames", 1)):
                source.seek(index)
                frame = source.convert("RGBA")
                strips.append(pyvips.Image.new_from_memory(frame.tobytes(), width, height, 4, "uchar"))
                delays.append(max(0, round(float(source.info.get("duration", 100) or 0))))
            loop = int(source.info.get("loop", 0) or 0)
    except Image.DecompressionBombError as error:
        raise TooManyPixels(f"the {name} image declares too many pixels ({error})") from None
    except Exception as error:  # Pillow raises OSError, SyntaxError, ValueError, EOFError ...
        raise _rejection(error, name) from None
    strip = pyvips.Image.arrayjoin(strips, across=1) if len(strips) > 1 else strips[0]
    strip = strip.copy(interpretation="srgb")
    strip.set_type(pyvips.GValue.gint_type, "page-height", height)
    strip.set_type(pyvips.GValue.array_int_type, "delay", delays)
    strip.set_type(pyvips.GValue.gint_type, "loop", loop)
    return strip


def _packed(buffer: bytes | memoryview, stride: int, row: int, height: int) -> bytes | memoryview:
    """Rows without the decoder's padding (libheif may align rows wider than width x bands).

    Unpadded rows are handed over as they are: pyvips keeps a reference to the decoder's buffer
    instead of a second 36 MB copy of a 12 MP photo.
    """
    view = memoryview(buffer)
    if stride == row:
        return view[: row * height]
    return b"".join(view[y * stride : y * stride + row] for y in range(height))


def _rejection(error: Exception, name: str) -> ImageRejected:
    text = " ".join(str(error).split())[:240] or type(error).__name__
    lowered = text.lower()
    if any(hint in lowered for hint in ("truncated", "end of file", "not enough", "unexpected end")):
        return TruncatedImage(f"the {name} data is truncated ({text}); upload the complete file")
    return CorruptImage(f"the {name} data is corrupt ({text}); the image cannot be decoded")
