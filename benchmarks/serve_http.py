"""HTTP service benchmark: uploads through the API vs in-process puts; blob GETs vs nginx.

1. Uploads: 2 MP JPEGs (distinct images), 8 clients at once, through ``POST /v1/images`` of a
   ``picstore serve`` process, against the anchor: ``ImageStore.put`` in this process on 8 threads.
   Goal: the API takes at most 1.25x as long.
2. GETs of the stored variants (``/b/{key}``) from that ``picstore serve`` against nginx serving the same
   files from the same directory, with wrk (16 connections, both on this machine). Goal: at least 0.5x
   nginx's requests per second.

Rounds alternate anchor and picstore after a warm-up; medians and ratios are printed (see
shared/reference/performance.md). Needs nginx and wrk (Debian: ``apt-get install nginx-light wrk``).

    python benchmarks/serve_http.py [--images 48] [--rounds 3] [--get-seconds 5] [--nginx-workers 1]
"""

from __future__ import annotations

import argparse
import io
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx

CLIENTS = 8
ADMIN_KEY = "bench-admin-key-" + "x" * 24


def make_images(count: int, width: int = 1732, height: int = 1155) -> list[bytes]:
    """Distinct 2 MP photos-like JPEGs: smooth gradients plus grain, so they compress like photos."""
    from PIL import Image, ImageFilter

    out = []
    rng = random.Random(7)
    for i in range(count):
        noise = Image.effect_noise((width // 4, height // 4), 40 + i).resize((width, height))
        base = Image.linear_gradient("L").resize((width, height)).rotate(rng.uniform(0, 360))
        rgb = Image.merge("RGB", (base, noise, Image.eval(base, lambda v, k=i: (v * 3 + k * 11) % 256)))
        rgb = rgb.filter(ImageFilter.GaussianBlur(1.2))
        grain = Image.effect_noise((width, height), 12).convert("RGB")
        rgb = Image.blend(rgb, grain, 0.12)
        buf = io.BytesIO()
        rgb.save(buf, "JPEG", quality=88)
        out.append(buf.getvalue())
    return out


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve_process(
    root: Path, **settings: str
) -> Iterator[tuple[str, subprocess.Popen[bytes], dict[str, str]]]:
    """A ``picstore serve`` on files and SQLite under ``root`` (and ``PICSTORE_<NAME>`` for each of
    ``settings``), answering ``/healthz``; yields its URL, its process and its environment (for running
    other ``picstore`` commands on the same store)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PICSTORE_")}
    env.update(
        PICSTORE_STORAGE=(root / "blobs").as_uri(),
        PICSTORE_DATABASE=f"sqlite:///{root / 'catalog.db'}",
        PICSTORE_PORT=str(port),
        PICSTORE_ADMIN_KEY=ADMIN_KEY,
    )
    env.update({f"PICSTORE_{name.upper()}": value for name, value in settings.items()})
    root.mkdir(parents=True, exist_ok=True)
    log = (root / "serve.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "picstore", "serve"], env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"picstore serve did not start; see {root / 'serve.log'}")
        yield base, proc, env
    finally:
        proc.terminate()
        proc.wait(20)
        log.close()


@contextmanager
def picstore_serve(root: Path, **settings: str) -> Iterator[tuple[str, Path]]:
    """:func:`serve_process`, yielding its URL and blob directory."""
    with serve_process(root, **settings) as (base, _proc, _env):
        yield base, root / "blobs"


def timed(fn: Callable[[], None]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def bench_uploads(images: list[bytes], rounds: int, work: Path, base: str, auth: dict[str, str]) -> None:
    """Print the upload comparison: the API at ``base`` against ImageStore.put in this process."""
    from picstore import ImageStore
    from picstore.settings import load_settings

    inproc_root = work / "inproc"
    settings = load_settings(
        storage=(inproc_root / "blobs").as_uri(), database=f"sqlite:///{inproc_root / 'catalog.db'}"
    )
    store = ImageStore.from_settings(settings)
    store.create_tenant("bench")

    def in_process() -> None:
        with ThreadPoolExecutor(CLIENTS) as pool:
            list(pool.map(lambda data: store.put(data, "bench", "p.jpg"), images))

    local = threading.local()

    def post(data: bytes) -> None:
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = httpx.Client(base_url=base, headers=auth, timeout=120)
        resp = client.post("/v1/images", files={"file": ("p.jpg", data, "image/jpeg")})
        resp.raise_for_status()

    def through_api() -> None:
        with ThreadPoolExecutor(CLIENTS) as pool:
            list(pool.map(post, images))

    in_process()  # warm-up: libvips caches, SQLite files, first blob directories
    through_api()
    anchor, api = [], []
    for _ in range(rounds):
        anchor.append(timed(in_process))
        api.append(timed(through_api))
    n = len(images)
    a, p = statistics.median(anchor), statistics.median(api)
    print(f"\n== uploads: {n} x 2 MP JPEG ({sum(map(len, images)) // n // 1024} KiB avg), {CLIENTS} at once")
    print(f"in-process ImageStore.put  {a:7.2f} s  {n / a:6.1f} images/s   (rounds: {_fmt(anchor)})")
    print(f"POST /v1/images            {p:7.2f} s  {n / p:6.1f} images/s   (rounds: {_fmt(api)})")
    print(f"API / in-process time: {p / a:.2f}x   (goal <= 1.25x)")
    store.close()


def _fmt(values: list[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


@contextmanager
def nginx(blobs: Path, work: Path, workers: int) -> Iterator[str]:
    """nginx serving ``blobs`` under /b/ with the headers picstore sends, on a free loopback port."""
    port = free_port()
    conf = work / "nginx.conf"
    conf.write_text(
        f"""
worker_processes {workers};
daemon off;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    types {{ image/jpeg jpg; image/webp webp; image/png png; image/gif gif; image/avif avif; }}
    client_body_temp_path {work}/nginx-body;
    proxy_temp_path {work}/nginx-proxy;
    fastcgi_temp_path {work}/nginx-fastcgi;
    uwsgi_temp_path {work}/nginx-uwsgi;
    scgi_temp_path {work}/nginx-scgi;
    server {{
        listen 127.0.0.1:{port};
        location /b/ {{
            alias {blobs}/;
            add_header Cache-Control "public, max-age=31536000, immutable";
            add_header X-Content-Type-Options nosniff;
        }}
    }}
}}
"""
    )
    proc = subprocess.Popen(["nginx", "-c", str(conf), "-e", str(work / "nginx-error.log")])
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                httpx.get(base + "/", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        yield base
    finally:
        proc.terminate()
        proc.wait(10)


_LUA = """
local paths = {}
for line in io.lines(os.getenv("WRK_PATHS")) do paths[#paths + 1] = line end
local i = 0
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
"""


def wrk(base: str, paths_file: Path, script: Path, seconds: int) -> tuple[float, str]:
    """Requests per second (and the p99 latency) of wrk against ``base``, 2 threads, 16 connections."""
    out = subprocess.run(
        ["wrk", "-t2", "-c16", f"-d{seconds}s", "--latency", "-s", str(script), base],
        capture_output=True,
        text=True,
        env={**os.environ, "WRK_PATHS": str(paths_file)},
        check=True,
    ).stdout
    if "Non-2xx" in out:
        raise RuntimeError(f"errors while benchmarking {base}:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"^\s*99%\s+(\S+)", out, re.MULTILINE)  # the latency distribution line
    return rps, p99.group(1) if p99 else "?"


def variant_paths(base: str, auth: dict[str, str]) -> dict[str, list[str]]:
    """The ``/b/`` paths of every stored variant, by variant name, as the API lists them."""
    by_name: dict[str, list[str]] = {}
    cursor = None
    while True:
        params = {"limit": 200, **({"cursor": cursor} if cursor else {})}
        page = httpx.get(f"{base}/v1/images", params=params, headers=auth).json()
        for image in page["items"]:
            for name, formats in image["variants"].items():
                for variant in formats.values():
                    by_name.setdefault(name, []).append(variant["url"].removeprefix(base))
        cursor = page["next_cursor"]
        if cursor is None:
            return by_name


def bench_gets(
    base: str, auth: dict[str, str], blobs: Path, rounds: int, seconds: int, work: Path, workers: int
) -> None:
    """Print GETs/s of picstore serve against nginx, for all variants and for thumbnails alone."""
    by_name = variant_paths(base, auth)
    # Identical uploads share their blobs (content addresses): count each file once.
    scenarios = {"all variants": sorted({p for paths in by_name.values() for p in paths})}
    if "thumb" in by_name:
        scenarios["thumbnails only"] = sorted(set(by_name["thumb"]))
    script = work / "paths.lua"
    script.write_text(_LUA)
    with nginx(blobs, work, workers) as nginx_base:
        for title, paths in scenarios.items():
            paths_file = work / "paths.txt"
            paths_file.write_text("".join(f"{p}\n" for p in paths))
            sizes = [(blobs / p.removeprefix("/b/")).stat().st_size for p in paths]
            wrk(nginx_base, paths_file, script, 1)  # warm-up both (page cache, picstore's blob cache)
            wrk(base, paths_file, script, 1)
            anchor, ours = [], []
            for _ in range(rounds):
                anchor.append(wrk(nginx_base, paths_file, script, seconds))
                ours.append(wrk(base, paths_file, script, seconds))
            a = statistics.median(r for r, _ in anchor)
            p = statistics.median(r for r, _ in ours)
            avg = sum(sizes) / len(sizes) / 1024
            print(
                f"\n== GETs, {title}: {len(paths)} files of {min(sizes) // 1024}-{max(sizes) // 1024} KiB "
                f"(avg {avg:.0f} KiB), wrk -t2 -c16, {seconds} s x {rounds}"
            )
            label = f"nginx ({workers} worker{'s' if workers > 1 else ''})"
            print(f"{label:18} {a:8.0f} req/s   p99 {[x for _, x in anchor]}")
            print(f"picstore serve     {p:8.0f} req/s   p99 {[x for _, x in ours]}")
            print(f"picstore / nginx: {p / a:.2f}x   (goal >= 0.5x)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--images", type=int, default=48, help="uploads per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--get-seconds", type=int, default=5)
    parser.add_argument("--nginx-workers", type=int, default=1)
    args = parser.parse_args()
    for tool in ("nginx", "wrk"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is needed: apt-get install nginx-light wrk")
    print(f"machine: {os.cpu_count()} CPUs; generating {args.images} images ...")
    images = make_images(args.images)
    with tempfile.TemporaryDirectory(prefix="picstore-http-bench-") as tmp:
        work = Path(tmp)
        work.chmod(0o755)  # nginx's workers run as an unprivileged user and must reach the blobs
        with picstore_serve(work / "api") as (base, blobs):
            admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
            tenant = httpx.post(f"{base}/v1/tenants", json={"slug": "bench"}, headers=admin).json()
            auth = {"Authorization": f"Bearer {tenant['api_key']}"}
            bench_uploads(images, args.rounds, work, base, auth)
            bench_gets(base, auth, blobs, args.rounds, args.get_seconds, work, args.nginx_workers)


if __name__ == "__main__":
    main()
