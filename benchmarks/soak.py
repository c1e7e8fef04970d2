"""Soak run: many mixed requests against one ``picstore serve`` process; RSS, 5xx and ``verify`` at the end.

What it does (issue 9 asks for it; results in docs/performance.md "## Soak"):

1. Starts ``picstore serve`` as a subprocess on 127.0.0.1 with a file:// store and SQLite in a temporary
   directory, creates a tenant through the admin API.
2. Sends ``--requests`` requests from ``--clients`` threads, a seeded mix:
   uploads (every file of the corpus in turn, per ``manifest.csv``: accepted, refused, sanitized and
   either-way files, bombs and crashers included), image reads, blob reads (originals and variants,
   through the URLs the API hands out), listings, deletes, reads of deleted images, and ``picstore gc``
   run as a separate process every ``--gc-every`` requests (grace ``--gc-grace`` seconds).
3. Samples the server's RSS (VmRSS from /proc) every ``--sample-every`` requests; the anchor is the
   median RSS of the run's second quarter (warm: every decoder loaded, every worker thread's allocator
   arena used): the ratio of the last quarter's median to it says whether memory is flat.
4. At the end: the count of 5xx answers (must be 0), uploads whose outcome contradicts the manifest,
   and ``picstore verify`` (every blob the catalog knows, size and SHA-256) on the same store.

Usage: .venv/bin/python benchmarks/soak.py [--requests 10000] [--clients 4] [--seed 9]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from serve_http import ADMIN_KEY, serve_process

CORPUS = Path(os.environ.get("PICSTORE_CORPUS", "/work/shared/corpus"))
#: Share of each kind of request (gc is added every ``--gc-every`` requests).
MIX = {"upload": 30, "get_image": 20, "get_blob": 25, "list": 5, "delete": 12, "get_deleted": 8}


@dataclass
class State:
    """What the clients share: live and deleted image ids with their blob paths, and the tallies."""

    corpus: list[tuple[str, bytes, str]]
    live: dict[str, list[str]] = field(default_factory=dict)
    deleted: list[str] = field(default_factory=list)
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    contradictions: list[str] = field(default_factory=list)
    sent: int = 0
    next_file: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def load_corpus() -> list[tuple[str, bytes, str]]:
    with (CORPUS / "manifest.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    return [(row["file"], (CORPUS / row["file"]).read_bytes(), row["expected"]) for row in rows]


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def blob_paths(image: dict[str, object]) -> list[str]:
    urls = [str(image["url"])]
    variants = image.get("variants")
    if isinstance(variants, dict):
        urls += [str(v["url"]) for formats in variants.values() for v in formats.values()]
    return [urlsplit(u).path for u in urls]


def upload(client: httpx.Client, state: State) -> tuple[str, int]:
    with state.lock:
        name, data, expected = state.corpus[state.next_file % len(state.corpus)]
        state.next_file += 1
    answer = client.post("/v1/images", files={"file": (Path(name).name, data)})
    status = answer.status_code
    accepted = status == 201
    if accepted:
        image = answer.json()
        with state.lock:
            state.live[image["id"]] = blob_paths(image)
    if (expected == "accept" and not accepted) or (expected == "reject" and accepted):
        with state.lock:
            state.contradictions.append(f"{name}: expected {expected}, got {status}")
    return "upload", status


def one_request(client: httpx.Client, state: State, rng: random.Random, kind: str) -> tuple[str, int]:
    if kind == "upload":
        return upload(client, state)
    with state.lock:
        ids = list(state.live)
        chosen = rng.choice(ids) if ids else None
        paths = state.live.get(chosen, []) if chosen else []
        gone = rng.choice(state.deleted) if state.deleted else None
    if chosen is None:
        return upload(client, state)
    if kind == "get_image":
        return kind, client.get(f"/v1/images/{chosen}").status_code
    if kind == "get_blob":
        answer = client.get(rng.choice(paths))
        return kind, answer.status_code  # 404 when a delete raced this read
    if kind == "list":
        return kind, client.get("/v1/images", params={"limit": 50}).status_code
    if kind == "delete":
        status = client.delete(f"/v1/images/{chosen}").status_code
        with state.lock:
            if state.live.pop(chosen, None) is not None:
                state.deleted.append(chosen)
        return kind, status
    if gone is None:
        return "get_image", client.get(f"/v1/images/{chosen}").status_code
    return kind, client.get(f"/v1/images/{gone}").status_code


def run_gc(env: dict[str, str], grace: float) -> tuple[str, int]:
    proc = subprocess.run(
        [sys.executable, "-m", "picstore", "gc", "--grace", str(grace), "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return "gc", 200 if proc.returncode == 0 else 500


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--gc-every", type=int, default=1000)
    parser.add_argument("--gc-grace", type=float, default=60.0)
    parser.add_argument("--sample-every", type=int, default=500)
    parser.add_argument("--seed", type=int, default=9)
    args = parser.parse_args()
    state = State(load_corpus())
    kinds = [kind for kind, weight in MIX.items() for _ in range(weight)]
    samples: list[tuple[int, float]] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="picstore-soak-") as tmp, serve_process(Path(tmp)) as served:
        base, proc, env = served
        admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
        key = httpx.post(f"{base}/v1/tenants", json={"slug": "soak"}, headers=admin).json()["api_key"]
        samples.append((0, rss_mb(proc.pid)))

        def client_loop(index: int) -> None:
            rng = random.Random(args.seed * 100 + index)
            headers = {"Authorization": f"Bearer {key}"}
            with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
                while True:
                    with state.lock:
                        if state.sent >= args.requests:
                            return
                        state.sent += 1
                        number = state.sent
                    if number % args.gc_every == 0:
                        kind, status = run_gc(env, args.gc_grace)
                    else:
                        kind, status = one_request(client, state, rng, rng.choice(kinds))
                    with state.lock:
                        state.statuses[kind, status] += 1
                    if number % args.sample_every == 0:
                        samples.append((number, rss_mb(proc.pid)))
                        print(f"  {number:>6} requests  RSS {samples[-1][1]:7.1f} MB", flush=True)

        threads = [threading.Thread(target=client_loop, args=(i,)) for i in range(args.clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        samples.append((args.requests, rss_mb(proc.pid)))
        verify = subprocess.run(
            [sys.executable, "-m", "picstore", "verify", "--json"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
    report(args, state, samples, elapsed, verify)


def report(
    args: argparse.Namespace,
    state: State,
    samples: list[tuple[int, float]],
    elapsed: float,
    verify: subprocess.CompletedProcess[str],
) -> None:
    print(f"\n{args.requests} requests from {args.clients} clients in {elapsed:.0f} s")
    by_kind: dict[str, Counter[int]] = {}
    for (kind, status), count in state.statuses.items():
        by_kind.setdefault(kind, Counter())[status] = count
    for kind, counts in sorted(by_kind.items()):
        print(f"  {kind:12} " + "  ".join(f"{status}: {n}" for status, n in sorted(counts.items())))
    errors = sum(n for (_, status), n in state.statuses.items() if status >= 500)
    print(f"5xx answers: {errors}")
    print(f"uploads contradicting the manifest: {len(state.contradictions)}")
    for line in state.contradictions[:10]:
        print(f"  {line}")
    samples = sorted(samples)
    # The anchor: the RSS of the second quarter of the run (warm: every decoder and every worker
    # thread's allocator arena has been used by then); a leak shows as a last quarter above it.
    quarter = args.requests / 4
    warm = [mb for n, mb in samples if quarter < n <= 2 * quarter] or [samples[-1][1]]
    tail = [mb for n, mb in samples if n > 3 * quarter] or [samples[-1][1]]
    print("RSS MB: " + ", ".join(f"{mb:.0f}@{n}" for n, mb in samples))
    after = [mb for n, mb in samples if n > quarter]
    print(
        f"RSS after the first quarter: {min(after):.0f}-{max(after):.0f} MB; median of the second quarter "
        f"{statistics.median(warm):.0f} MB (anchor), of the last quarter {statistics.median(tail):.0f} MB, "
        f"ratio {statistics.median(tail) / statistics.median(warm):.2f}"
    )
    try:
        summary = json.loads(verify.stdout)
        print(
            f"verify: exit {verify.returncode}, {summary['checked']} blobs checked, "
            f"{len(summary['missing'])} missing, {len(summary['damaged'])} damaged"
        )
    except (ValueError, KeyError):
        print(f"verify: exit {verify.returncode}\n{verify.stdout[-2000:]}{verify.stderr[-2000:]}")


if __name__ == "__main__":
    main()
