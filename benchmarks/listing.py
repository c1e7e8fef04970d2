"""The public listing page with many pictures: how long picstore takes to answer ``GET /p/{tenant}``.

One tenant with --pictures pictures (500 by default, each a real upload with its variants) on the file
store and SQLite. picstore serves them with uvicorn on 127.0.0.1; the client asks, in alternation:
- the listing page ``/p/acme`` (HTML: a <picture> with srcset per picture; the goal is < 50 ms; the page
  is rendered once and then reused while the listing's fingerprint holds), and
- the anchor: the JSON API's listing of the same pictures ``GET /v1/images?limit=N`` (the same catalog
  reads and URL lookup, JSON instead of HTML),
and prints medians, p95 and the ratio. It also times in-process what the server does: a cold render
(catalog + URLs, then the template) and a reused page (the fingerprint query alone).

    .venv/bin/python benchmarks/listing.py                   # 500 pictures, 200 requests each
    .venv/bin/python benchmarks/listing.py --pictures 100 --requests 50
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO))

from tests.helpers import make_jpeg  # noqa: E402

from picstore import ImageStore  # noqa: E402
from picstore.listings import Listings  # noqa: E402
from picstore.settings import load_settings  # noqa: E402
from picstore.web.app import create_app  # noqa: E402
from picstore.web.ui.listing import PER_PAGE, RenderedPages, render_listing, rendered_listing, shown  # noqa: E402


def _ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    return f"median {statistics.median(ordered) * 1000:6.1f} ms   p95 {p95 * 1000:6.1f} ms"


def _time(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def _cpu(fn: Callable[[], object]) -> float:
    # CPU time of this thread: what the work costs, less inflated than wall time on a busy machine.
    started = time.thread_time()
    fn()
    return time.thread_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pictures", type=int, default=500)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    if not 1 <= args.pictures <= PER_PAGE:
        parser.error(f"--pictures must be between 1 and {PER_PAGE} (one listing page)")

    import uvicorn

    with tempfile.TemporaryDirectory() as tmp:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        settings = load_settings(
            storage=(Path(tmp) / "blobs").as_uri(),
            database=f"sqlite:///{Path(tmp) / 'catalog.db'}",
            public_url=f"http://127.0.0.1:{port}",
        )
        store = ImageStore.from_settings(settings)
        _, key = store.create_tenant("acme", "Acme Holiday Flats")
        started = time.perf_counter()
        for n in range(args.pictures):
            color = (n % 256, (n * 7) % 256, (n * 13) % 256)
            store.put(make_jpeg(320 + n % 7, 240, color), "acme", f"room-{n}.jpg", alt=f"Room {n}")
        print(f"stored {args.pictures} pictures in {time.perf_counter() - started:.1f} s")

        listings = Listings(store)
        found = listings.page("acme", 1, PER_PAGE, variants=shown(settings))
        html = render_listing(found)
        print(f"listing page: {len(html) / 1024:.0f} KiB of HTML, {len(found.pictures)} pictures")

        server = uvicorn.Server(
            uvicorn.Config(
                create_app(store), host="127.0.0.1", port=port, log_level="warning", access_log=False
            )
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.02)
        page_times: list[float] = []
        api_times: list[float] = []
        query_times: list[float] = []
        render_times: list[float] = []
        warm_times: list[float] = []
        cold_cpu: list[float] = []
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
                auth = {"Authorization": f"Bearer {key}"}
                api = f"/v1/images?limit={args.pictures}"
                for _ in range(5):  # warm-up
                    client.get("/p/acme").raise_for_status()
                    client.get(api, headers=auth).raise_for_status()
                for n in range(args.requests):
                    calls = [
                        (page_times, lambda: client.get("/p/acme").raise_for_status()),
                        (api_times, lambda: client.get(api, headers=auth).raise_for_status()),
                    ]
                    for samples, call in calls if n % 2 else reversed(calls):
                        samples.append(_time(call))
            for _ in range(max(20, args.requests // 4)):
                query_times.append(
                    _time(lambda: listings.page("acme", 1, PER_PAGE, variants=shown(settings)))
                )
                render_times.append(_time(lambda: render_listing(found)))
                cold_cpu.append(
                    _cpu(lambda: render_listing(listings.page("acme", 1, PER_PAGE, variants=shown(settings))))
                )
            pages = RenderedPages()
            rendered_listing(listings, pages, "acme", 1)
            for _ in range(max(20, args.requests // 4)):
                warm_times.append(_time(lambda: rendered_listing(listings, pages, "acme", 1)))
        finally:
            server.should_exit = True
            thread.join(10)
            store.close()

    page_median, api_median = statistics.median(page_times), statistics.median(api_times)
    cold = statistics.median(query_times) + statistics.median(render_times)
    print(f"GET /p/acme (HTML)          {_ms(page_times)}")
    print(f"GET /v1/images (JSON) anchor {_ms(api_times)}")
    print(f"ratio listing / anchor: {page_median / api_median:.2f}x  (goal: listing under 50 ms)")
    print(f"  in-process: catalog + URLs {_ms(query_times)}")
    print(f"  in-process: template       {_ms(render_times)}")
    print(f"  in-process: a rendered page reused (fingerprint unchanged) {_ms(warm_times)}")
    print(f"  in-process: cold = catalog + URLs + template, about {cold * 1000:.1f} ms wall")
    print(f"  in-process: cold, CPU time of the thread {_ms(cold_cpu)}")
    print(f"ratio cold render (in-process) / anchor (HTTP): {cold / api_median:.2f}x")


if __name__ == "__main__":
    main()
