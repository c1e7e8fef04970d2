"""The work budget of one upload: pixels it will cost, known from its header, and the wall time it may take.

Limits on bytes and pixels per frame bound an upload's *size*, not its *cost*: 150 frames of 1600x1600
sit within every size limit and still mean about a gigapixel decoded, resized and re-encoded. Two
bounds close that gap:

- ``max_work_pixels``: every pixel decoded plus every pixel encoded (the master and each variant in
  each format, times its frames when that format stays animated), counted the way the pipeline really
  works: a streamed animation is decoded once per animated output, and an animated WebP encodes each
  frame twice (``planned_work``). It is computed from the header alone, so an upload over budget is
  refused before a single pixel is decoded. Invariant: it grows linearly in the frames, as the real
  cost does (benchmarks/animation.py prints CPU time per planned pixel against the frame count).
- ``max_ingest_seconds``: wall time from the first decode. A :class:`Deadline` is checked between
  steps and also *inside* libvips: images being computed report progress, and an expired deadline
  kills the computation there, so a runaway decode or encode is cancelled, not waited out.

Pure arithmetic and libvips callbacks; no I/O.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import pyvips

from picstore.errors import ImageRejected, IngestTimeout, TooMuchWork
from picstore.ingest.headers import Header, read_header
from picstore.ingest.normalize import capped_size
from picstore.ingest.options import IngestOptions
from picstore.ingest.sniff import sniff
from picstore.variants.spec import VariantSpec, parse_spec

#: Variant formats that keep an animation's frames (the others get a still of the first frame); the
#: pipeline reads this set to decide, so the plan and the work cannot disagree.
ANIMATED_FORMATS = frozenset({"webp"})

#: Animations libvips decodes as a stream, once per output that reads every frame (the master and
#: each animated variant): holding all frames in memory instead would cost frames x canvas x 4 bytes.
#: APNG and AVIF sequences are decoded once, into memory, by Pillow (``ingest.frames``).
STREAMED_ANIMATIONS = frozenset({"gif", "webp"})

#: Encodes per frame of an animated WebP: libwebp's animation encoder encodes every frame after the
#: first twice (the changed rectangle over the previous frame kept, and over it disposed) and keeps
#: the smaller.
ANIMATION_ENCODES = 2


def planned_work(header: Header, options: IngestOptions, presets: Mapping[str, VariantSpec]) -> int:
    """Pixels an ingest of this header decodes and encodes, over all frames and all outputs.

    Linear in the frames by construction, and it counts what the pipeline really does: one decode
    pass over every frame for each output that is animated (streamed animations), one decode of the
    first frame for each still made of an animation, and ``ANIMATION_ENCODES`` encodes per animated
    frame. benchmarks/animation.py prints the CPU time per planned pixel as the frames grow.
    """
    frames = max(1, header.frames)
    width, height = capped_size(header.width, header.height, options.max_side)
    animated = frames > 1
    encodes = ANIMATION_ENCODES if animated else 1
    encoded = width * height * frames * encodes  # the master keeps every frame
    full_passes, first_frame_passes = 1, 0
    for spec in presets.values():
        w, h = spec.resize_to(width, height)
        for fmt in options.variant_formats:
            if animated and fmt in ANIMATED_FORMATS:
                encoded += w * h * frames * encodes
                full_passes += 1
            else:
                encoded += w * h
                first_frame_passes += 1
    if not (animated and header.format in STREAMED_ANIMATIONS):
        full_passes, first_frame_passes = 1, 0  # decoded once and held (stills, APNG, AVIF)
    decoded = header.pixels * (frames * full_passes + (first_frame_passes if animated else 0))
    return decoded + encoded


def estimate(data: bytes, options: IngestOptions) -> int:
    """The planned work of ``data`` from its header alone; 0 when the header is refused (ingest then
    refuses the upload at the same step, before any decode, so it costs nothing either)."""
    try:
        header = read_header(data, sniff(data))
    except ImageRejected:
        return 0
    presets = {name: parse_spec(text) for name, text in options.variants.items()}
    return planned_work(header, options, presets)


def check_work(header: Header, options: IngestOptions, presets: Mapping[str, VariantSpec]) -> None:
    """Refuse an upload whose planned work is over ``options.max_work_pixels``."""
    work = planned_work(header, options, presets)
    if work > options.max_work_pixels:
        frames = f"{header.frames:,} frames of " if header.frames > 1 else ""
        raise TooMuchWork(
            f"the image ({frames}{header.width:,}x{header.height:,}) would take {work / 1e6:,.0f} MP of "
            f"decoding and encoding; the limit is {options.max_work_pixels / 1e6:,.0f} MP per upload. "
            "Upload fewer frames or a smaller image."
        )


class Deadline:
    """The wall-time budget of one ingest, enforced between steps and inside libvips computations."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expires = time.monotonic() + seconds
        self.expired = False

    def check(self) -> None:
        """Raise :class:`IngestTimeout` once the budget is spent."""
        if self.expired or time.monotonic() > self.expires:
            self.expired = True
            raise self.error()

    def error(self) -> IngestTimeout:
        return IngestTimeout(
            f"processing the image took longer than {self.seconds:g} s and was stopped; "
            "upload a smaller image or fewer frames"
        )

    def watch(self, image: pyvips.Image) -> pyvips.Image:
        """``image``, set to be killed by libvips as soon as the deadline passes while it is computed.

        libvips reports progress on an image that is being evaluated (a save pulls every pixel through
        it); the handler runs on libvips' worker threads and only flips the image's kill flag. The
        caller keeps the returned image referenced until the computation ends: pyvips frees the
        callback together with the Python object, and libvips would then call into freed memory.
        """
        image.set_progress(True)

        def on_eval(img: pyvips.Image, _progress: Any) -> None:
            if time.monotonic() > self.expires:
                self.expired = True
                img.set_kill(True)

        image.signal_connect("eval", on_eval)
        return image
