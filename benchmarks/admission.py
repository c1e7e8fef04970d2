"""Benchmark: latency of a small upload while one tenant's heavy animations fill the ingest slots.

Issue 9 found a 1x1 JPEG waiting 43 s behind four 40-frame GIFs. ``picstore.admission`` gives each
tenant a share of the slots and small uploads a fast lane; this measures what that buys:

1. ``idle``: ``--small`` uploads of a 1x1 JPEG by tenant ``small``, one after another, on a quiet store.
2. ``loaded``: the same while tenant ``heavy`` keeps ``--heavy`` uploads of an animated GIF in flight
   (``--frames`` flat frames of ``--size`` px, within the default work budget), each thread
   uploading again as soon as its last upload returns.

Both run ``ImageStore.put`` on threads of this process against a temporary file:// store with SQLite
and default settings (slots, per-tenant share, fast lane), as ``picstore serve``'s worker threads do.
Prints median and p95 latency of each phase, their ratio (the anchor is the idle latency), and how
many heavy uploads finished meanwhile.

Usage: .venv/bin/python benchmarks/admission.py [--small 40] [--heavy 4] [--frames 40] [--size 800]
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from animation import flat_animation  # noqa: E402

from picstore import ImageStore  # noqa: E402
from picstore.errors import ImageRejected  # noqa: E402
from picstore.settings import load_settings  # noqa: E402


def tiny_jpeg() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (1, 1), (200, 30, 30)).save(buf, "JPEG")
    return buf.getvalue()


def small_latencies(store: ImageStore, count: int) -> list[float]:
    data, out = tiny_jpeg(), []
    for _ in range(count):
        start = time.perf_counter()
        store.put(data, "small")
        out.append(time.perf_counter() - start)
        time.sleep(0.05)  # a user, not a flood
    return out


def heavy_put(store: ImageStore, data: bytes) -> str:
    """Upload ``data`` as tenant ``heavy``: "stored", or the code it was refused with (on a busy
    machine the wall-time budget may stop a heavy upload: that is the budget working)."""
    try:
        store.put(data, "heavy")
    except ImageRejected as refused:
        return refused.code
    return "stored"


def summary(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"median {statistics.median(values) * 1000:7.1f} ms   p95 {p95 * 1000:7.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=40, help="1x1 JPEG uploads per phase")
    parser.add_argument("--heavy", type=int, default=4, help="heavy uploads in flight")
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--size", type=int, default=800)
    args = parser.parse_args()
    heavy_data = flat_animation(args.frames, args.size, "gif")
    with tempfile.TemporaryDirectory(prefix="picstore-admission-") as tmp:
        work = Path(tmp)
        settings = load_settings(storage=(work / "blobs").as_uri(), database=f"sqlite:///{work / 'c.db'}")
        with ImageStore(settings=settings) as store:
            for slug in ("small", "heavy"):
                store.create_tenant(slug)
            gate = store.ingest_gate
            print(
                f"ingest slots {gate.slots}, per tenant {gate.per_tenant}, fast lane {gate.fast_slots}; "
                f"heavy: {args.heavy} x GIF {args.frames} frames of {args.size}px "
                f"({len(heavy_data) // 1024} KB)"
            )
            start = time.perf_counter()
            outcome = heavy_put(store, heavy_data)
            print(f"one heavy upload alone: {time.perf_counter() - start:.1f} s ({outcome})")
            small_latencies(store, 3)  # warm-up
            idle = small_latencies(store, args.small)
            stop = threading.Event()
            done: Counter[str] = Counter()

            def heavy_loop() -> None:
                while not stop.is_set():
                    done[heavy_put(store, heavy_data)] += 1

            threads = [threading.Thread(target=heavy_loop) for _ in range(args.heavy)]
            for thread in threads:
                thread.start()
            time.sleep(1.0)  # let the heavy uploads take their slots
            loaded = small_latencies(store, args.small)
            waiting = gate.in_use()
            stop.set()
            for thread in threads:
                thread.join()
    print(f"idle   (anchor)        {summary(idle)}")
    print(f"loaded ({args.heavy} heavy)      {summary(loaded)}   gate at the end: {waiting}")
    ratio = statistics.median(loaded) / statistics.median(idle)
    p95 = sorted(loaded)[round(0.95 * (len(loaded) - 1))] / sorted(idle)[round(0.95 * (len(idle) - 1))]
    print(f"ratio loaded/idle: median {ratio:.2f}x, p95 {p95:.2f}x; heavy uploads meanwhile: {dict(done)}")


if __name__ == "__main__":
    main()
