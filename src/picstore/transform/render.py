"""Render one transform of a stored master: decode (shrink-on-load), resize, crop or pad, encode.

Pure: bytes in, a :class:`~picstore.ingest.result.Rendition` out; no I/O. Masters are picstore's own
sanitized output (JPEG, PNG or WebP, no metadata), so the decode is libvips' ``thumbnail``, which
shrinks JPEG and WebP while loading. The bytes may also be a smaller full-frame copy of the master (a
stored preset such as ``large``, see :attr:`Source.pixels`): the geometry is always the master's. Invariants:

- the output size is exactly ``spec.output_size`` of the master's size, whatever the decoder rounded
  and whichever copy of the master was decoded;
- an animated master rendered to WebP stays animated (every frame resized and cropped at the same place;
  ``g=smart`` falls back to the centre so the crop does not jump between frames); every other format gets
  the first frame;
- ``fit=contain`` pads with transparency when the format has alpha and with white for JPEG.

libvips runs its own worker threads and releases the GIL: call :func:`render_transform` from a thread
(the HTTP service bounds how many at once); never fork after it has run (see ``ingest.libvips``).
"""

from __future__ import annotations

from dataclasses import dataclass

import pyvips

from picstore.errors import RenderFailed
from picstore.ingest.encode import Encoding, rendition
from picstore.ingest.libvips import ensure_ready
from picstore.ingest.result import Rendition
from picstore.transform.spec import TransformSpec
from picstore.variants.render import page_height, resize_exact

ALPHA_FORMATS = ("png", "webp", "avif")
#: Where a compass gravity puts the crop: fractions of the spare width and height.
_COMPASS = {
    "centre": (0.5, 0.5),
    "north": (0.5, 0.0),
    "northeast": (1.0, 0.0),
    "east": (1.0, 0.5),
    "southeast": (1.0, 1.0),
    "south": (0.5, 1.0),
    "southwest": (0.0, 1.0),
    "west": (0.0, 0.5),
    "northwest": (0.0, 0.0),
}


@dataclass(frozen=True)
class Source:
    """The stored master a transform is made from (``width``, ``height``: the master's)."""

    data: bytes
    format: str
    width: int
    height: int  # of one frame
    frames: int = 1
    #: Pixel size of ``data`` when it is a smaller full-frame copy of the master (a stored preset);
    #: None when ``data`` is the master itself.
    pixels: tuple[int, int] | None = None

    @property
    def decoded_size(self) -> tuple[int, int]:
        """The pixel size ``data`` decodes to."""
        return self.pixels or (self.width, self.height)


def work_pixels(spec: TransformSpec, source: Source, fmt: str) -> int:
    """Pixels a render decodes and writes over all frames: what ``transform_max_work`` bounds."""
    frames = source.frames if fmt == "webp" else 1
    resized = spec.resize_to(source.width, source.height)
    out = spec.output_size(source.width, source.height)
    decoded = source.decoded_size
    return frames * (decoded[0] * decoded[1] + resized[0] * resized[1] + out[0] * out[1])


def render_transform(source: Source, spec: TransformSpec, encoding: Encoding, *, name: str) -> Rendition:
    """The rendition of ``spec`` of ``source`` in ``encoding`` (``name`` is recorded as its variant name).

    RenderFailed when libvips cannot render it: masters are picstore's own output, so that means the
    stored bytes are damaged, not that the request is wrong.
    """
    ensure_ready()
    try:
        return _render(source, spec, encoding, name)
    except pyvips.Error as exc:
        detail = " ".join(str(exc).split())[:240]
        raise RenderFailed(f"the stored {source.format} master could not be rendered ({detail})") from None


def _render(source: Source, spec: TransformSpec, encoding: Encoding, name: str) -> Rendition:
    size = spec.output_size(source.width, source.height)
    resize = spec.resize_to(source.width, source.height)
    fmt = encoding.format
    if source.frames > 1 and fmt == "webp":
        strip = pyvips.Image.webpload_buffer(source.data, n=-1)
        image = _animated(strip, spec, resize, size, source.frames, fmt)
    else:
        if source.format == "jpeg":
            # Shrink-on-load by the largest factor that still covers the target. libvips' thumbnail stops
            # at half that (it keeps a 2x margin for its own resize): 4x the pixels decoded at 12 MP.
            shrink = next((k for k in (8, 4, 2) if _covers(source, k, resize)), 1)
            image = pyvips.Image.jpegload_buffer(source.data, shrink=shrink, access="sequential")
        else:
            image = pyvips.Image.thumbnail_buffer(source.data, resize[0], height=resize[1], size="force")
            if page_height(image) < image.height:  # one frame of an animation still says page-height
                image = image.extract_area(0, 0, image.width, page_height(image))
        image = _shape(resize_exact(image, resize), spec, size, fmt)
    return rendition(image, encoding, variant=name, spec=name, frame_height=size[1])


def _covers(source: Source, shrink: int, size: tuple[int, int]) -> bool:
    width, height = source.decoded_size
    return width // shrink >= size[0] and height // shrink >= size[1]


def _shape(image: pyvips.Image, spec: TransformSpec, size: tuple[int, int], fmt: str) -> pyvips.Image:
    """Crop (cover) or pad (contain) a resized frame to ``size``."""
    if (image.width, image.height) == size:
        return image
    if spec.fit == "contain":
        if fmt in ALPHA_FORMATS:
            if not image.hasalpha():
                image = image.bandjoin_const([255])
            background = [0] * image.bands
        else:
            if image.hasalpha():
                image = image.flatten(background=[255] * (image.bands - 1))
            background = [255] * image.bands
        return image.gravity("centre", size[0], size[1], extend="background", background=background)
    if spec.gravity == "smart":
        # smartcrop reads the frame more than once: hold the (small, resized) frame in memory.
        return image.copy_memory().smartcrop(size[0], size[1], interesting="attention")
    left, top = crop_origin(spec, (image.width, image.height), size)
    return image.extract_area(left, top, size[0], size[1])


def crop_origin(spec: TransformSpec, resized: tuple[int, int], size: tuple[int, int]) -> tuple[int, int]:
    """Top-left corner of the ``size`` crop of a ``resized`` frame for ``spec``'s gravity."""
    spare_x, spare_y = resized[0] - size[0], resized[1] - size[1]
    if spec.gravity == "fp" and spec.focus is not None:
        # Centre the crop on the focal point, as far as the frame allows.
        left = round(spec.focus[0] / 100 * resized[0] - size[0] / 2)
        top = round(spec.focus[1] / 100 * resized[1] - size[1] / 2)
    else:
        fx, fy = _COMPASS.get(spec.gravity, _COMPASS["centre"])
        left, top = round(spare_x * fx), round(spare_y * fy)
    return min(max(0, left), spare_x), min(max(0, top), spare_y)


def _animated(
    strip: pyvips.Image,
    spec: TransformSpec,
    resize: tuple[int, int],
    size: tuple[int, int],
    frames: int,
    fmt: str,
) -> pyvips.Image:
    resized = resize_exact(strip, resize)
    frame_h = resized.height // frames
    if (resized.width, frame_h) != size:
        steady = spec if spec.gravity != "smart" else TransformSpec(spec.width, spec.height, fit=spec.fit)
        pages = [
            _shape(resized.extract_area(0, i * frame_h, resized.width, frame_h), steady, size, fmt)
            for i in range(frames)
        ]
        resized = pyvips.Image.arrayjoin(pages, across=1)
    out = resized.copy()
    for name in ("delay", "loop"):
        if strip.get_typeof(name) != 0:
            out.set_type(strip.get_typeof(name), name, strip.get(name))
    out.set_type(pyvips.GValue.gint_type, "page-height", size[1])
    return out
