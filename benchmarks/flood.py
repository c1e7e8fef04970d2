"""One tenant floods a bare ``picstore serve``; how much slower are the other tenants' requests?

A ``picstore serve`` process with the default settings unless ``--set`` says otherwise (the per-key
rate limit, ``PICSTORE_KEY_RATE_LIMIT``, is what stands between the flood and the others). A calm tenant
sends ``GET /v1/images`` at a steady ``--calm-rate`` (keep it under the key rate limit) and records each
latency; that is done with the server idle (the anchor) and while another process floods with a second
tenant's key (``--flooders`` connections, each sending its next request as soon as the last is answered:
reads, or small uploads with ``--kind uploads``). Rounds alternate idle and flood; the medians of each
phase's p99 and their ratio are printed.
Goal (issue 9): flood p99 within 2x of idle p99.

    python benchmarks/flood.py [--seconds 10] [--rounds 3] [--flooders 32] [--kind reads|uploads]
                               [--calm-rate 10] [--set key_rate_limit=20 ...]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import multiprocessing
import multiprocessing.queues
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from serve_http import ADMIN_KEY, picstore_serve


def small_jpeg() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 90, 40)).save(buf, "JPEG")
    return buf.getvalue()


def flood(
    base: str,
    key: str,
    flooders: int,
    kind: str,
    stop: multiprocessing.synchronize.Event,
    answers: multiprocessing.queues.Queue[dict[int, int]],
) -> None:
    """Run in another process: ``flooders`` connections sending requests back to back until ``stop``;
    then put the answers they got, by status (0: no answer), on ``answers``."""
    data = small_jpeg()
    statuses: dict[int, int] = {}

    async def one(client: httpx.AsyncClient) -> None:
        while not stop.is_set():
            try:
                if kind == "uploads":
                    response = await client.post("/v1/images", files={"file": ("f.jpg", data, "image/jpeg")})
                else:
                    response = await client.get("/v1/images")
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            except httpx.HTTPError:
                statuses[0] = statuses.get(0, 0) + 1
                await asyncio.sleep(0.01)

    async def main() -> None:
        limits = httpx.Limits(max_connections=flooders, max_keepalive_connections=flooders)
        auth = {"Authorization": f"Bearer {key}"}
        async with httpx.AsyncClient(base_url=base, headers=auth, limits=limits, timeout=60) as client:
            await asyncio.gather(*(one(client) for _ in range(flooders)))

    asyncio.run(main())
    answers.put(statuses)


def calm_latencies(base: str, key: str, seconds: float, rate: float) -> tuple[list[float], dict[int, int]]:
    """The calm tenant's requests, ``rate`` a second for ``seconds``: latencies (ms), answers by status."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60) as client:
        start = time.monotonic()
        for n in range(int(seconds * rate)):
            # A steady client, not a second flood: each request at its time (or at once when late).
            time.sleep(max(0.0, start + n / rate - time.monotonic()))
            started = time.perf_counter()
            status = client.get("/v1/images").status_code
            latencies.append((time.perf_counter() - started) * 1000)
            statuses[status] = statuses.get(status, 0) + 1
    return latencies, statuses


def report(phase: str, latencies: list[float], statuses: dict[int, int]) -> float:
    """Print one phase's calm p50 and p99; return the p99."""
    cuts = statistics.quantiles(latencies, n=100)
    print(f"{phase}: calm p50 {cuts[49]:6.2f} ms, p99 {cuts[98]:7.2f} ms over {len(latencies)} {statuses}")
    return cuts[98]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each phase")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--flooders", type=int, default=32, help="connections of the flooding tenant")
    parser.add_argument("--kind", choices=["reads", "uploads"], default="reads")
    parser.add_argument("--calm-rate", type=float, default=10.0, help="requests a second of the calm tenant")
    parser.add_argument(
        "--set", action="append", default=[], metavar="NAME=VALUE", help="a setting, e.g. key_rate_limit=20"
    )
    args = parser.parse_args()
    settings = dict(item.split("=", 1) for item in args.set)

    with tempfile.TemporaryDirectory() as tmp, picstore_serve(Path(tmp), **settings) as (base, _):
        admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
        keys = {
            s: httpx.post(f"{base}/v1/tenants", json={"slug": s}, headers=admin).json()["api_key"]
            for s in ("calm", "flood")
        }
        for slug in ("calm", "flood"):  # something to list
            for _ in range(5):
                httpx.post(
                    f"{base}/v1/images",
                    files={"file": ("a.jpg", small_jpeg(), "image/jpeg")},
                    headers={"Authorization": f"Bearer {keys[slug]}"},
                )
        calm_latencies(base, keys["calm"], 1.0, args.calm_rate)  # warm-up
        ctx = multiprocessing.get_context("spawn")
        idle: list[float] = []
        flooded: list[float] = []
        for n in range(args.rounds):
            idle.append(
                report(
                    f"round {n + 1} idle ", *calm_latencies(base, keys["calm"], args.seconds, args.calm_rate)
                )
            )
            stop = ctx.Event()
            answers: multiprocessing.queues.Queue[dict[int, int]] = ctx.Queue()
            proc = ctx.Process(
                target=flood, args=(base, keys["flood"], args.flooders, args.kind, stop, answers)
            )
            started = time.monotonic()
            proc.start()
            time.sleep(1.5)  # the flood is under way
            calm = calm_latencies(base, keys["calm"], args.seconds, args.calm_rate)
            stop.set()
            got = answers.get(timeout=90)
            seconds = time.monotonic() - started
            proc.join(30)
            flooded.append(report(f"round {n + 1} flood", *calm))
            rates = {status: round(count / seconds) for status, count in sorted(got.items())}
            print(f"        the flooding tenant's answers a second, by status: {rates}")
            time.sleep(1.0)  # the flood drains
        idle_p99, flood_p99 = statistics.median(idle), statistics.median(flooded)
        print(f"\nsettings {settings or 'defaults'}; flood of {args.kind}, {args.flooders} connections")
        print(
            f"{args.rounds} rounds of {args.seconds:g} s; calm tenant at {args.calm_rate:g} requests a second"
        )
        print(f"idle p99  {idle_p99:8.2f} ms (median of rounds)")
        print(f"flood p99 {flood_p99:8.2f} ms (median of rounds)")
        print(f"ratio     {flood_p99 / idle_p99:8.2f}x (goal: at most 2x)")


if __name__ == "__main__":
    main()
