"""The ingest pipeline: an ordered list of named steps over one upload.

    size -> sniff -> header -> limits -> decode -> variants -> master        (ingest)
    size -> sniff -> header -> limits -> decode -> verify                     (probe)

``probe`` runs the same checks and the same strict decodes as ``ingest`` and only skips the encoders,
so ``picstore validate`` answers exactly what ``ImageStore.put`` would.

Decoding plan (the "decode" step): a still JPEG large enough for shrink-on-load is decoded twice --
once as a stream at the master's size (a few scanlines in memory, straight into the master's
encoder) and once at the smallest 1/2, 1/4 or 1/8 size that covers the largest variant, kept in
memory for the variant cascade. That is cheaper and uses far less memory than holding the full image
(36 MB at 12 MP) for both. Every other still is decoded once, capped to ``max_side``, held in memory
and shared by the master and the cascade. Animations stay lazy strips: holding every frame would cost
frames x canvas. Each output that reads every frame (the master, each animated variant) decodes the
strip again, through a cache of its last two frames (``decode.frame_cache``), so the cost is linear in
the frames; ``budget.planned_work`` counts those passes.

Thread safety: each call owns its ``_Upload``; nothing is shared between calls except libvips'
process-wide setup (``libvips.ensure_ready``, idempotent, behind a lock). Run one upload per worker
thread; libvips releases the GIL while it works, so two threads use two cores.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import pyvips

from picstore.errors import ImageRejected
from picstore.formats import label as format_label
from picstore.ingest import budget, decode, limits
from picstore.ingest.encode import encoding_for, rendition
from picstore.ingest.headers import Header, read_header
from picstore.ingest.libvips import decoder_errors, ensure_ready
from picstore.ingest.normalize import capped_size, drop_opaque_alpha, normalize, page_height, resize_exact
from picstore.ingest.options import IngestOptions
from picstore.ingest.result import IngestResult, Probe, Rendition
from picstore.ingest.sniff import sniff
from picstore.variants import render
from picstore.variants.spec import VariantSpec, parse_spec

_SHRINKS = (8, 4, 2)


@dataclass
class _Upload:
    """The state one upload carries from step to step."""

    data: bytes
    options: IngestOptions
    deadline: budget.Deadline
    format: str = ""
    header: Header = field(default_factory=lambda: Header("", 0, 0))
    upright: tuple[int, int] = (0, 0)  # upright size of the source (one frame)
    size: tuple[int, int] = (0, 0)  # upright size of the stored master (capped at max_side)
    frames: int = 1
    master_image: pyvips.Image | None = None
    variant_image: pyvips.Image | None = None
    master: Rendition | None = None
    variants: tuple[Rendition, ...] = ()

    @property
    def name(self) -> str:
        return format_label(self.format)


Step = tuple[str, Callable[[_Upload], None]]


def _check_size(up: _Upload) -> None:
    limits.check_bytes(len(up.data), up.options)


def _sniff(up: _Upload) -> None:
    up.format = sniff(up.data)


def _read_header(up: _Upload) -> None:
    up.header = read_header(up.data, up.format)
    up.format = up.header.format  # generic HEIF brands are resolved to AVIF or HEIC here


def _check_limits(up: _Upload) -> None:
    limits.check_pixels(up.header, up.options)
    if up.header.deferred is not None:
        raise up.header.deferred
    budget.check_work(up.header, up.options, _presets(up.options))


def _decode(up: _Upload) -> None:
    header, options = up.header, up.options
    with decoder_errors(up.name):
        first = decode.load(up.data, header, sequential=True)
        animated = page_height(first) < first.height
        up.frames = first.height // page_height(first) if animated else 1
        up.upright = upright = _upright(first, header, animated)
        up.size = capped_size(*upright, options.max_side)
        if animated:
            up.master_image = up.variant_image = resize_exact(normalize(first, animated=True), up.size)
            return
        master_shrink = _shrink(header, upright, up.size)
        variant_shrink = _shrink(header, upright, _largest_variant(up.size, _presets(options)))
        master = (
            first
            if master_shrink == 1
            else decode.load(up.data, header, shrink=master_shrink, sequential=True)
        )
        master = resize_exact(normalize(master, animated=False), up.size)
        if variant_shrink > master_shrink:
            up.master_image = master
            # Streamed into one in-memory copy (a random-access load would hold a second one).
            variant = decode.load(up.data, header, shrink=variant_shrink, sequential=True)
            up.variant_image = normalize(variant, animated=False).copy_memory()
        else:
            up.master_image = up.variant_image = drop_opaque_alpha(master.copy_memory())


def _encode_master(up: _Upload) -> None:
    image = up.master_image
    assert image is not None
    with decoder_errors(up.name):
        fmt, lossless = _master_format(up, image)
        encoding = encoding_for(fmt, up.options, lossless=lossless)
        up.master = rendition(image, encoding, frame_height=up.size[1], deadline=up.deadline)


def _render_variants(up: _Upload) -> None:
    assert up.variant_image is not None
    presets = _presets(up.options)
    made_in_turn = render.render_variants(up.variant_image, presets, full_size=up.size)
    if up.variant_image is not up.master_image:
        up.variant_image = None  # the cascade owns its source now and frees it as it goes
    out: list[Rendition] = []
    with decoder_errors(up.name):
        for made in made_in_turn:
            for fmt in up.options.variant_formats:
                encoding = encoding_for(fmt, up.options, quality=made.spec.quality)
                # Only WebP is both animated and displayed everywhere; other formats get the still.
                pixels = made.image if fmt in budget.ANIMATED_FORMATS else made.still
                # The key digest covers geometry and encoder parameters: a new quality, a new URL.
                key_spec = ",".join(
                    filter(None, (replace(made.spec, quality=None).canonical, encoding.params))
                )
                out.append(
                    rendition(
                        pixels,
                        encoding,
                        variant=made.name,
                        spec=key_spec,
                        frame_height=made.height,
                        deadline=up.deadline,
                    )
                )
    # Rendered largest first (the cascade); returned in a stable order, by preset name then format.
    up.variants = tuple(sorted(out, key=lambda r: (r.variant or "", r.format)))


def _verify(up: _Upload) -> None:
    # Pull every pixel through the same decodes ingest would run, without encoding anything.
    with decoder_errors(up.name):
        images = (
            [up.master_image] if up.variant_image is up.master_image else [up.master_image, up.variant_image]
        )
        for image in images:
            if image is not None:
                up.deadline.watch(image.copy()).avg()


PROBE_STEPS: Sequence[Step] = (
    ("size", _check_size),
    ("sniff", _sniff),
    ("header", _read_header),
    ("limits", _check_limits),
    ("decode", _decode),
    ("verify", _verify),
)

INGEST_STEPS: Sequence[Step] = (
    *PROBE_STEPS[:-1],
    # Variants first: their in-memory source is released before the master is streamed, so the
    # peak is the larger of the two stages, not their sum.
    ("variants", _render_variants),
    ("master", _encode_master),
)


def probe(data: bytes, options: IngestOptions) -> Probe:
    """Check ``data`` as ``ingest`` would (header limits and the full strict decode); say what it is.

    Raises an ``ImageRejected`` subclass when the upload would be refused.
    """
    up = _run(PROBE_STEPS, data, options)
    return Probe(format=up.format, width=up.upright[0], height=up.upright[1], frames=up.frames)


def ingest(data: bytes, options: IngestOptions) -> IngestResult:
    """Check and clean ``data``; return the re-encoded master and its variants. Pure: no I/O.

    Raises an ``ImageRejected`` subclass (with a stable ``code``) when the upload is refused; nothing
    derived from a refused upload is returned.
    """
    up = _run(INGEST_STEPS, data, options)
    assert up.master is not None
    source = Probe(format=up.format, width=up.upright[0], height=up.upright[1], frames=up.frames)
    return IngestResult(source=source, master=up.master, variants=up.variants)


def _run(steps: Sequence[Step], data: bytes, options: IngestOptions) -> _Upload:
    ensure_ready()
    up = _Upload(bytes(data), options, budget.Deadline(options.max_ingest_seconds))
    try:
        for _name, step in steps:
            up.deadline.check()
            step(up)
    except ImageRejected as refused:
        # A computation killed by the deadline surfaces as a libvips error: name the real reason.
        if up.deadline.expired:
            raise up.deadline.error() from refused
        raise
    return up


def _presets(options: IngestOptions) -> dict[str, VariantSpec]:
    return {name: parse_spec(text) for name, text in options.variants.items()}


def _upright(image: pyvips.Image, header: Header, animated: bool) -> tuple[int, int]:
    """The full-size upright frame size: the header's size, swapped when the orientation transposes."""
    if header.format in ("heic", "avif") or animated:
        return int(image.width), page_height(image)  # libheif has applied irot/imir already
    width, height = header.width, header.height
    return (height, width) if decode.orientation(image) >= 5 else (width, height)


def _largest_variant(size: tuple[int, int], presets: dict[str, VariantSpec]) -> tuple[int, int]:
    sizes = [spec.resize_to(*size) for spec in presets.values()] or [size]
    return max(w for w, _ in sizes), max(h for _, h in sizes)


def _shrink(header: Header, upright: tuple[int, int], need: tuple[int, int]) -> int:
    """The largest JPEG shrink-on-load factor whose output still covers ``need`` (1 if none)."""
    if not decode.can_shrink_on_load(header):
        return 1
    for factor in _SHRINKS:
        if upright[0] // factor >= need[0] and upright[1] // factor >= need[1]:
            return factor
    return 1


def _master_format(up: _Upload, image: pyvips.Image) -> tuple[str, bool]:
    """(format, lossless) of the stored master, from the source and the pixels.

    Animations become animated WebP, lossless when the source was lossless (GIF, APNG, VP8L): it
    keeps every GIF pixel, is smaller than the GIF, and encodes 5-10x faster than libvips' GIF
    quantizer (~2 s for a 42-frame 245x245 GIF). Stills: PNG when there is (non-opaque) alpha and
    the source was lossless, lossy WebP when there is alpha and the source was lossy, else JPEG.
    """
    if up.frames > 1:
        return "webp", up.header.lossless
    if image.hasalpha():
        return ("png", False) if up.header.lossless else ("webp", False)
    return "jpeg", False
