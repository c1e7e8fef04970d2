"""Transform benchmark: picstore's ``/t/`` against thumbor 7 on the same photos, every request rendering.

Both servers: one process, on this machine, sources read from local disk, results not stored (thumbor's
result storage off, picstore's ``transform_store_results=false``), same request: fit inside 512x512, JPEG
quality 80, from a 2000x1333 and a 4000x3000 photo-like JPEG. A load generator (wrk when installed, else
threads of this process; keep-alive connections) runs at concurrency 2 and 4; rounds alternate thumbor
and picstore after a warm-up; medians of requests/s and of p95 latency are printed with picstore/thumbor
ratios. Then each server takes a long run of requests (``--rss-requests``) while its RSS is sampled: flat
means no leak per request.

thumbor is installed from PyPI into its own venv (``benchmarks/.venv-thumbor``, made on first run); if
that fails on this Python, thumbor is skipped with the reason and picstore's numbers are printed alone.

    python benchmarks/transform.py [--wrk-seconds 6] [--requests 150] [--rounds 2] [--rss-requests 2000]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
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

# Run as a script, this directory comes first on sys.path, and benchmarks/http.py would hide the standard
# library's ``http`` package (which httpx imports).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import httpx  # noqa: E402

HERE = Path(__file__).resolve().parent
THUMBOR_VENV = HERE / ".venv-thumbor"
KEY = "bench-transform-key-" + "x" * 24
PHOTOS = {"2000x1333": (2000, 1333), "4000x3000": (4000, 3000)}
BOX, QUALITY = 512, 80


def make_photo(width: int, height: int, seed: int) -> bytes:
    """A photo-like JPEG: blurred gradients and noise plus grain, so it compresses like a photo."""
    from PIL import Image, ImageFilter

    rng = random.Random(seed)
    noise = Image.effect_noise((width // 8, height // 8), 50).resize((width, height), Image.BICUBIC)
    base = Image.linear_gradient("L").resize((width, height)).rotate(rng.uniform(0, 360))
    rgb = Image.merge("RGB", (base, noise, base.transpose(Image.FLIP_LEFT_RIGHT))).filter(
        ImageFilter.GaussianBlur(2)
    )
    rgb = Image.blend(rgb, Image.effect_noise((width, height), 20).convert("RGB"), 0.1)
    buf = io.BytesIO()
    rgb.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@contextmanager
def server(cmd: list[str], env: dict[str, str], health: str, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=out)
        try:
            for _ in range(300):
                try:
                    if httpx.get(health, timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            else:
                raise RuntimeError(f"{cmd[0]} did not start; see {log}")
            yield proc
        finally:
            proc.terminate()
            proc.wait(10)


def thumbor_python() -> Path | None:
    """The venv's python with thumbor 7 in it (installed on first use), or None with the reason printed."""
    python = THUMBOR_VENV / "bin" / "python"
    if not python.exists():
        print(f"installing thumbor 7 into {THUMBOR_VENV} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(THUMBOR_VENV)], check=True)
    check = subprocess.run(
        [str(python), "-c", "import thumbor; print(thumbor.__version__)"], capture_output=True
    )
    if check.returncode != 0:
        pip = subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "thumbor>=7,<8"], capture_output=True, text=True
        )
        if pip.returncode != 0:
            tail = "\n".join(pip.stderr.strip().splitlines()[-5:])
            print(f"SKIP thumbor: it does not install on Python {sys.version.split()[0]}:\n{tail}")
            return None
        check = subprocess.run(
            [str(python), "-c", "import thumbor; print(thumbor.__version__)"], capture_output=True
        )
    print(f"thumbor {check.stdout.decode().strip()} in {THUMBOR_VENV}")
    return python


WRK_SCRIPT = """
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %f\\n", summary.requests, summary.duration,
                         latency:percentile(95) / 1000))
end
"""


def load_wrk(url: str, concurrency: int, seconds: float, script: Path) -> tuple[float, float]:
    """wrk (one thread, ``concurrency`` connections) for ``seconds`` on ``url``: (req/s, p95 ms)."""
    out = subprocess.run(
        ["wrk", "-t1", f"-c{concurrency}", f"-d{seconds:g}s", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if "Non-2xx" in out:
        raise RuntimeError(f"{url} answered errors under wrk:\n{out}")
    requests, duration_us, p95_ms = out.split("RESULT", 1)[1].split()[:3]
    return int(requests) / (int(duration_us) / 1e6), float(p95_ms)


def load(urls: list[str], concurrency: int, total: int) -> tuple[float, float]:
    """GET ``total`` requests (cycling through ``urls``) with ``concurrency`` clients: (req/s, p95 ms)."""
    latencies: list[float] = []
    lock = threading.Lock()
    counter = iter(range(total))

    def client() -> None:
        with httpx.Client(timeout=120) as http:
            for i in counter:
                started = time.perf_counter()
                response = http.get(urls[i % len(urls)])
                elapsed = time.perf_counter() - started
                if response.status_code != 200 or response.headers.get("content-type") != "image/jpeg":
                    raise RuntimeError(f"{urls[i % len(urls)]} answered {response.status_code}")
                with lock:
                    latencies.append(elapsed)

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        for f in [pool.submit(client) for _ in range(concurrency)]:
            f.result()
    wall = time.perf_counter() - started
    return total / wall, statistics.quantiles(latencies, n=20)[18] * 1000


def check_size(url: str, expected: tuple[int, int]) -> None:
    from PIL import Image

    with Image.open(io.BytesIO(httpx.get(url, timeout=60).content)) as img:
        if img.size != expected:
            raise RuntimeError(f"{url} made {img.size}, expected {expected}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=200, help="requests per measurement")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds per configuration")
    parser.add_argument("--rss-requests", type=int, default=2000, help="requests of the RSS run (0: skip)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[2, 4])
    parser.add_argument(
        "--wrk-seconds",
        type=float,
        default=8,
        help="seconds per cell with wrk (when installed; 0: never wrk)",
    )
    parser.add_argument("--servers", nargs="+", default=["picstore", "thumbor"], help="which servers to run")
    args = parser.parse_args()

    from picstore import ImageStore
    from picstore.settings import load_settings

    work = Path(tempfile.mkdtemp(prefix="picstore-bench-transform-"))
    photos = work / "photos"
    photos.mkdir()
    settings = {
        "storage": (work / "blobs").as_uri(),
        "database": f"sqlite:///{work / 'catalog.db'}",
        "transform_keys": [KEY],
        "transform_store_results": False,
        "variant_formats": ["jpeg"],
    }
    ids: dict[str, str] = {}
    with ImageStore.from_settings(load_settings(**settings)) as store:
        store.create_tenant("bench")
        for seed, (name, size) in enumerate(PHOTOS.items()):
            data = make_photo(*size, seed)
            (photos / f"{name}.jpg").write_bytes(data)
            ids[name] = store.put(data, "bench").id
        paths = {
            name: store.transform_url(i, width=BOX, height=BOX, format="jpeg", quality=QUALITY)
            for name, i in ids.items()
        }
    expected = {name: (BOX, round(BOX * h / w)) for name, (w, h) in PHOTOS.items()}

    pport, tport = free_port(), free_port()
    penv = {k: v for k, v in os.environ.items() if not k.startswith("PICSTORE_")}
    penv.update(
        {
            f"PICSTORE_{k.upper()}": json.dumps(v) if isinstance(v, list | bool) else str(v)
            for k, v in settings.items()
        }
    )
    penv["PICSTORE_PORT"] = str(pport)
    pbase = f"http://127.0.0.1:{pport}"
    picstore_urls = {
        name: pbase + "/" + url.split("://", 1)[1].split("/", 1)[1] for name, url in paths.items()
    }

    thumbor_py = thumbor_python() if "thumbor" in args.servers else None
    conf = work / "thumbor.conf"
    conf.write_text(
        f"LOADER = 'thumbor.loaders.file_loader'\nFILE_LOADER_ROOT_PATH = '{photos}'\n"
        "STORAGE = 'thumbor.storages.no_storage'\nRESULT_STORAGE = None\nALLOW_UNSAFE_URL = True\n"
        f"QUALITY = {QUALITY}\nENGINE_THREADPOOL_SIZE = {max(args.concurrency)}\n"
    )
    tbase = f"http://127.0.0.1:{tport}"
    thumbor_urls = {
        name: f"{tbase}/unsafe/fit-in/{BOX}x{BOX}/filters:format(jpeg):quality({QUALITY})/{name}.jpg"
        for name in PHOTOS
    }

    servers: dict[str, Callable[[], object]] = {
        "picstore": lambda: server(
            [sys.executable, "-m", "picstore", "serve"], penv, f"{pbase}/healthz", work / "p.log"
        )
    }
    if thumbor_py is not None:
        thumbor_bin = str(thumbor_py.parent / "thumbor")
        servers["thumbor"] = lambda: server(
            [thumbor_bin, "-p", str(tport), "-c", str(conf), "-l", "error"],
            dict(os.environ),
            f"{tbase}/healthcheck",
            work / "t.log",
        )
    urls = {"picstore": picstore_urls, "thumbor": thumbor_urls}
    use_wrk = args.wrk_seconds > 0 and shutil.which("wrk") is not None
    wrk_script = work / "p95.lua"
    wrk_script.write_text(WRK_SCRIPT)
    results: dict[tuple[str, str, int], list[tuple[float, float]]] = {}
    rss: dict[str, list[float]] = {}
    print(
        f"cores: {os.cpu_count()}, one process each, load: "
        + (f"wrk, {args.wrk_seconds:g} s" if use_wrk else f"Python client, {args.requests} requests")
        + f" x {args.rounds} rounds per cell"
    )
    for rnd in range(args.rounds):
        order = list(servers) if rnd % 2 == 0 else list(reversed(servers))
        for name in order:
            with servers[name]():  # type: ignore[attr-defined]
                for photo in PHOTOS:
                    check_size(urls[name][photo], expected[photo])
                    load([urls[name][photo]], 2, 10)  # warm-up
                    for conc in args.concurrency:
                        if use_wrk:
                            cell = load_wrk(urls[name][photo], conc, args.wrk_seconds, wrk_script)
                        else:
                            cell = load([urls[name][photo]], conc, args.requests)
                        results.setdefault((name, photo, conc), []).append(cell)
    if args.rss_requests:
        for name in servers:
            with servers[name]() as proc:  # type: ignore[attr-defined]
                samples = [rss_mib(proc.pid)]
                step = max(1, args.rss_requests // 10)
                for _ in range(10):
                    load(list(urls[name].values()), max(args.concurrency), step)
                    samples.append(rss_mib(proc.pid))
                rss[name] = samples

    print(f"\nfit-in {BOX}x{BOX} JPEG q{QUALITY}, every request renders (no result storage)")
    head = f"{'photo':>10} {'conc':>4} | {'picstore req/s':>14} {'p95 ms':>7} |"
    print(head + f" {'thumbor req/s':>13} {'p95 ms':>7} | ratio")
    for photo in PHOTOS:
        for conc in args.concurrency:
            if ("picstore", photo, conc) not in results:
                continue  # --rounds 0: the RSS run only
            p = results[("picstore", photo, conc)]
            p_rps, p_p95 = statistics.median(r for r, _ in p), statistics.median(q for _, q in p)
            line = f"{photo:>10} {conc:>4} | {p_rps:>14.1f} {p_p95:>7.0f} |"
            if ("thumbor", photo, conc) in results:
                t = results[("thumbor", photo, conc)]
                t_rps, t_p95 = statistics.median(r for r, _ in t), statistics.median(q for _, q in t)
                line += (
                    f" {t_rps:>13.1f} {t_p95:>7.0f} | {p_rps / t_rps:.2f}x req/s, p95 {p_p95 / t_p95:.2f}x"
                )
            print(line)
    for name, samples in rss.items():
        shown = ", ".join(f"{s:.0f}" for s in samples)
        print(f"RSS {name} (MiB, every {args.rss_requests // 10} requests of {args.rss_requests}): {shown}")


if __name__ == "__main__":
    main()
