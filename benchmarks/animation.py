"""Benchmark: the cost of ingesting an animation, per frame, as the frame count grows.

Issue 9 found a 150-frame 1600x1600 GIF (460 KB) keeping a core busy for 12 minutes, with time growing
faster than the frames. This measures it, and the fix (``ingest.decode.frame_cache``), in one run:

1. Inputs: synthetic animations, every frame a full canvas of one flat colour (what makes a 460 KB
   file of 150 frames of 1600x1600 possible: about 3 KB a frame), as GIF and as animated WebP, for
   each of ``--frames`` at each of ``--sizes``.
2. Contestants, each upload timed in CPU seconds of this process (all libvips threads: the machine is
   shared and wall time is noisy; wall time is printed too):
   - ``picstore``: ``ImageStore.put`` on a temporary file:// store with SQLite, default settings but
     the work budget raised (``max_work_pixels``, ``max_ingest_seconds``) so nothing is refused;
   - ``no-cache`` (unless ``--no-before``): the same with ``frame_cache`` turned off: the code before
     the fix (up to ``--before-max-frames``: it is superlinear);
   - anchor ``libvips-memory``: pyvips doing the same outputs the plain way: the whole animation
     decoded once into memory, then for the master and each preset ``thumbnail_image`` + animated
     WebP save (same quality and effort), and a JPEG of the first frame per preset. It holds every
     frame in memory (picstore streams), so it is the cost floor of the work, not a design to copy.
3. The root cause alone: decode + shrink to 200 px frames of a streamed GIF, with and without the cache;
   and a 12 MP still JPEG's CPU per planned pixel, to compare the budget's units across kinds.
4. For each contestant and input kind: seconds per frame at each count, the growth exponent (slope
   of log time against log frames; 1.0 is linear), the ratio to the anchor, and the work the budget
   plans for the upload (``ingest.budget.planned_work``) as ns of CPU per planned pixel: when the
   budget agrees with the real cost, that number stays flat as the frames grow.

Usage: .venv/bin/python benchmarks/animation.py [--frames 5,10,20,40] [--sizes 1600]
       [--formats gif,webp] [--rounds 1] [--before-max-frames 40] [--no-before]
"""

from __future__ import annotations

import argparse
import functools
import io
import math
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pyvips

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from picstore import ImageStore  # noqa: E402
from picstore.ingest import decode  # noqa: E402
from picstore.ingest.budget import planned_work  # noqa: E402
from picstore.ingest.headers import Header, read_header  # noqa: E402
from picstore.ingest.libvips import ensure_ready  # noqa: E402
from picstore.ingest.normalize import normalize  # noqa: E402
from picstore.ingest.options import IngestOptions  # noqa: E402
from picstore.ingest.sniff import sniff  # noqa: E402
from picstore.settings import load_settings  # noqa: E402
from picstore.variants.render import resize_exact  # noqa: E402
from picstore.variants.spec import VariantSpec, parse_spec  # noqa: E402

BIG = 10**13


def flat_animation(frames: int, size: int, fmt: str) -> bytes:
    """``frames`` full-canvas frames of one flat colour each, 40 ms apart, looping forever."""
    from PIL import Image

    images = []
    for i in range(frames):
        colour = ((i * 37) % 256, (i * 91 + 60) % 256, (i * 53 + 120) % 256)
        images.append(Image.new("RGB", (size, size), colour))
    buf = io.BytesIO()
    if fmt == "gif":
        images = [im.quantize(colors=2) for im in images]
        images[0].save(buf, "GIF", save_all=True, append_images=images[1:], duration=40, loop=0)
    else:
        images[0].save(
            buf, "WEBP", save_all=True, append_images=images[1:], duration=40, loop=0, lossless=True
        )
    return buf.getvalue()


@contextmanager
def picstore_store(work: Path) -> Iterator[ImageStore]:
    settings = load_settings(
        storage=(work / "blobs").as_uri(),
        database=f"sqlite:///{work / 'catalog.db'}",
        max_work_pixels=BIG,
        max_ingest_seconds=1e6,
        max_frames=100_000,
        max_total_pixels=BIG,
    )
    with ImageStore(settings=settings) as store:
        store.create_tenant("bench")
        yield store


def anchor(data: bytes, fmt: str, options: IngestOptions) -> None:
    """libvips, the plain way, whole animation in memory: the same outputs as an ingest."""
    load = pyvips.Image.gifload_buffer if fmt == "gif" else pyvips.Image.webpload_buffer
    strip = load(data, n=-1, fail_on="error").copy_memory()
    frame_h = int(strip.get("page-height"))
    strip.webpsave_buffer(lossless=True, effort=options.webp_effort, keep="none")
    first = strip.crop(0, 0, strip.width, frame_h)
    for text in options.variants.values():
        spec = parse_spec(text)
        w, h = spec.output_size(strip.width, frame_h)
        out = strip.thumbnail_image(w, height=h, size="force", crop="centre")
        out.webpsave_buffer(Q=spec.quality or options.webp_quality, effort=options.webp_effort, keep="none")
        still = first.thumbnail_image(w, height=h, size="force", crop="centre")
        still.flatten().jpegsave_buffer(Q=spec.quality or options.jpeg_quality, keep="none")


@contextmanager
def frame_cache_off() -> Iterator[None]:
    real = decode.frame_cache
    decode.frame_cache = lambda strip: strip
    try:
        yield
    finally:
        decode.frame_cache = real


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    fn()
    return time.process_time() - cpu, time.perf_counter() - wall


def exponent(frames: list[int], seconds: list[float]) -> float:
    """Least-squares slope of log(seconds) against log(frames)."""
    xs, ys = [math.log(f) for f in frames], [math.log(max(s, 1e-6)) for s in seconds]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum((x - mx) ** 2 for x in xs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", default="5,10,20,40")
    parser.add_argument("--sizes", default="1600")
    parser.add_argument("--formats", default="gif,webp")
    parser.add_argument("--rounds", type=int, default=1, help="uploads per point (median)")
    parser.add_argument("--before-max-frames", type=int, default=40)
    parser.add_argument("--no-before", action="store_true", help="skip the frame_cache-off contestant")
    args = parser.parse_args()
    frame_counts = [int(f) for f in args.frames.split(",")]
    ensure_ready()
    options = IngestOptions(
        max_work_pixels=BIG, max_ingest_seconds=1e6, max_frames=100_000, max_total_pixels=BIG
    )
    presets = {name: parse_spec(text) for name, text in options.variants.items()}
    print(f"libvips {pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)}; CPU seconds (wall)")
    with tempfile.TemporaryDirectory(prefix="picstore-anim-") as tmp, picstore_store(Path(tmp)) as store:
        for size in (int(s) for s in args.sizes.split(",")):
            for fmt in args.formats.split(","):
                results: dict[str, dict[int, float]] = {"picstore": {}, "no-cache": {}, "anchor": {}}
                work_ns: dict[int, float] = {}
                print(f"\n{fmt.upper()} {size}x{size}, flat frames")
                print(
                    f"{'frames':>6} {'KB':>6} {'picstore s/frame':>18} {'no-cache s/frame':>18} "
                    f"{'anchor s/frame':>16} {'ratio':>6} {'planned MP':>10} {'ns/px':>6}"
                )
                for n in frame_counts:
                    data = flat_animation(n, size, fmt)
                    header = read_header(data, sniff(data))
                    planned = planned_work(header, options, presets)
                    before = not args.no_before and n <= args.before_max_frames
                    row = measure(store, data, fmt, options, rounds=args.rounds, before=before)
                    for name, (cpu, _) in row.items():
                        results[name][n] = cpu
                    work_ns[n] = row["picstore"][0] / planned * 1e9

                    def cell(name: str, row: dict[str, tuple[float, float]] = row, n: int = n) -> str:
                        if name not in row:
                            return "-"
                        cpu, wall = row[name]
                        return f"{cpu / n:.3f} ({wall / n:.3f})"

                    ratio = row["picstore"][0] / row["anchor"][0]
                    print(
                        f"{n:>6} {len(data) / 1024:>6.0f} {cell('picstore'):>18} {cell('no-cache'):>18} "
                        f"{cell('anchor'):>16} {ratio:>6.2f} {planned / 1e6:>10.0f} {work_ns[n]:>6.1f}"
                    )
                for name, points in results.items():
                    if len(points) >= 2:
                        counts = sorted(points)
                        slope = exponent(counts, [points[c] for c in counts])
                        print(f"  growth exponent {name:>9}: {slope:.2f}  (frames {counts[0]}..{counts[-1]})")
            resize_only(frame_counts, size)
        still_reference(store, options, presets)


def resize_only(frame_counts: list[int], size: int) -> None:
    """The root cause alone: a GIF strip decoded as a stream and shrunk to 200 px frames (the thumb's
    resize), CPU per frame with and without the frame cache."""
    print(f"\nGIF {size}x{size} -> 200x200 frames, decode + resize only (CPU s/frame)")
    points: dict[str, dict[int, float]] = {"frame cache": {}, "no cache": {}}
    for n in frame_counts:
        data = flat_animation(n, size, "gif")
        header = read_header(data, "gif")
        for name, cache in (("frame cache", True), ("no cache", False)):
            points[name][n] = timed(functools.partial(shrink, data, header, cache))[0]
        print(f"{n:>6} frames  " + "  ".join(f"{k} {v[n] / n:.3f}" for k, v in points.items()))
    for name, by_n in points.items():
        if len(by_n) >= 2:
            counts = sorted(by_n)
            print(f"  growth exponent {name:>11}: {exponent(counts, [by_n[c] for c in counts]):.2f}")


def shrink(data: bytes, header: Header, cache: bool) -> None:
    if cache:
        strip = decode.load(data, header, sequential=True)
    else:
        strip = pyvips.Image.gifload_buffer(data, n=-1, access="sequential", fail_on="error")
    resize_exact(normalize(strip, animated=True), (200, 200)).avg()  # as the pipeline does


def still_reference(store: ImageStore, options: IngestOptions, presets: dict[str, VariantSpec]) -> None:
    """CPU per planned pixel of a 12 MP still JPEG, for comparison with the animations' ns/px."""
    noise = pyvips.Image.gaussnoise(4000, 3000, sigma=30, mean=128).cast("uchar")
    photo = noise.bandjoin([noise.rot180(), noise.flip("horizontal")]).copy(interpretation="srgb")
    data = photo.jpegsave_buffer(Q=85)
    planned = planned_work(read_header(data, "jpeg"), options, presets)
    store.put(data, "bench")  # warm
    cpu = min(timed(lambda: store.put(data, "bench"))[0] for _ in range(3))
    per_pixel = cpu / planned * 1e9
    print(f"\nstill 12 MP JPEG: {cpu:.3f} s CPU, planned {planned / 1e6:.0f} MP, {per_pixel:.1f} ns/px")


def measure(
    store: ImageStore, data: bytes, fmt: str, options: IngestOptions, *, rounds: int, before: bool
) -> dict[str, tuple[float, float]]:
    """(CPU, wall) seconds of each contestant on ``data``, best of ``rounds``, alternating."""
    contestants: list[tuple[str, Callable[[], object]]] = [
        ("anchor", lambda: anchor(data, fmt, options)),
        ("picstore", lambda: store.put(data, "bench")),
    ]
    if before:
        contestants.append(("no-cache", lambda: _no_cache_put(store, data)))
    row: dict[str, tuple[float, float]] = {}
    for _ in range(rounds):
        for name, fn in contestants:
            row[name] = min(row.get(name, (BIG, BIG)), timed(fn))
    return row


def _no_cache_put(store: ImageStore, data: bytes) -> None:
    with frame_cache_off():
        store.put(data, "bench")


if __name__ == "__main__":
    main()
