"""Transform benchmark: picstore's ``/t/`` against thumbor 7 on the same photos, every request rendering.

Both servers: one process, on this machine, sources read from local disk, results not stored (thumbor's
result storage off, picstore's ``transform_store_results=false``), same request: fit inside 512x512, JPEG
quality 80, from a 2000x1333 and a 4000x3000 photo-like JPEG. Contestants: ``picstore`` (renders from the
master, the default), ``presets`` (the same server with ``transform_from_presets=true``: renders from the
stored 1600 px preset) and ``thumbor``. A load generator (wrk when installed, else an asyncio client in
this process: raw keep-alive HTTP/1.1, a few tens of microseconds of CPU a request, so it takes little
from the servers) runs at concurrency 2 and 4 for a fixed time per cell; rounds alternate the
contestants after a warm-up; medians of requests/s, of p95 latency and of the server's CPU time per
request (from /proc: what the work costs, whatever else the machine is doing) are printed with ratios
to thumbor. Then each server takes a long run of requests (``--rss-requests``) while its RSS is
sampled: flat means no leak per request.

thumbor is installed from PyPI into its own venv (``benchmarks/.venv-thumbor``, made on first run); if
that fails on this Python, thumbor is skipped with the reason and picstore's numbers are printed alone.

    python benchmarks/transform.py [--seconds 4] [--rounds 2] [--rss-requests 2000] [--servers ...]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

# Run as a script, this directory comes first on sys.path, and benchmarks/http.py would hide the standard
# library's ``http`` package (which httpx imports).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import httpx  # noqa: E402

sys.path.append(str(Path(__file__).resolve().parent))
from side_venv import side_venv  # noqa: E402

HERE = Path(__file__).resolve().parent
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


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` and all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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
    venv = side_venv("thumbor", "thumbor>=7,<8", ["python", "-c", "import thumbor"])
    if venv is None:
        return None
    python = venv / "bin" / "python"
    version = subprocess.run(
        [str(python), "-c", "import thumbor; print(thumbor.__version__)"], capture_output=True
    )
    print(f"thumbor {version.stdout.decode().strip()} in {venv}")
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


async def _client(
    host: str, port: int, request: bytes, until: float, limit: float, latencies: list[float]
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < until and len(latencies) < limit:
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status, _, rest = head.partition(b"\r\n")
            headers = dict(line.split(b":", 1) for line in rest.strip().split(b"\r\n") if b":" in line)
            fields = {k.strip().lower(): v.strip() for k, v in headers.items()}
            body = await reader.readexactly(int(fields[b"content-length"]))
            if b" 200 " not in status or fields.get(b"content-type") != b"image/jpeg" or not body:
                raise RuntimeError(f"{request!r} answered {status!r}")
            latencies.append(time.perf_counter() - started)
    finally:
        writer.close()


def load_async(
    url: str, concurrency: int, seconds: float, requests: int | None = None
) -> tuple[float, float]:
    """``concurrency`` keep-alive connections GET ``url`` for ``seconds`` (or until about ``requests``
    answers): (req/s, p95 ms)."""
    parsed = httpx.URL(url)
    target = parsed.raw_path.decode()
    request = f"GET {target} HTTP/1.1\r\nHost: {parsed.host}:{parsed.port}\r\n\r\n".encode()
    latencies: list[float] = []

    async def run() -> float:
        started = time.perf_counter()
        until = started + seconds
        port = parsed.port or 80
        await asyncio.gather(
            *(
                _client(parsed.host, port, request, until, requests or math.inf, latencies)
                for _ in range(concurrency)
            )
        )
        return time.perf_counter() - started

    wall = asyncio.run(run())
    return len(latencies) / wall, statistics.quantiles(latencies, n=20)[18] * 1000


def fidelity(url: str, original: Path, expected: tuple[int, int]) -> float:
    """PSNR (dB) of ``url``'s answer against the reference rendition of ``original``: decoded at full
    size and resized with Lanczos-3 to ``expected``, never encoded. Higher is closer; the JPEG q80
    encode alone costs a few dB. The answer must have the expected size."""
    import pyvips

    answer = pyvips.Image.new_from_buffer(httpx.get(url, timeout=60).content, "")
    if (answer.width, answer.height) != expected:
        raise RuntimeError(f"{url} made {answer.width}x{answer.height}, expected {expected}")
    full = pyvips.Image.new_from_file(str(original))
    ref = full.resize(expected[0] / full.width, vscale=expected[1] / full.height, kernel="lanczos3")
    mse = ((answer.cast("float") - ref) ** 2).avg()
    return 10 * math.log10(255**2 / max(mse, 1e-9))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=4, help="seconds of load per cell")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds per configuration")
    parser.add_argument("--rss-requests", type=int, default=2000, help="requests of the RSS run (0: skip)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[2, 4])
    parser.add_argument(
        "--photo",
        type=Path,
        action="append",
        default=[],
        help="also a real JPEG photo (EXIF orientation 1), rendered like the made-up ones",
    )
    parser.add_argument(
        "--wrk", action="store_true", help="use wrk (one thread) instead of the asyncio client"
    )
    parser.add_argument(
        "--servers",
        nargs="+",
        default=list(CONTESTANTS),
        choices=list(CONTESTANTS),
        help="which contestants to run",
    )
    parser.add_argument(
        "--vips-concurrency",
        type=int,
        default=0,
        help="VIPS_CONCURRENCY for picstore (0: libvips' default, one thread per core)",
    )
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
        # Both formats' presets, as a default install makes them (the presets contestant decodes ``large``).
        "variant_formats": ["jpeg", "webp"],
    }
    ids: dict[str, str] = {}
    sizes = dict(PHOTOS)
    with ImageStore.from_settings(load_settings(**settings)) as store:
        store.create_tenant("bench")
        for seed, (name, size) in enumerate(PHOTOS.items()):
            data = make_photo(*size, seed)
            (photos / f"{name}.jpg").write_bytes(data)
            ids[name] = store.put(data, "bench").id
        for extra in args.photo:
            from PIL import Image

            data = extra.read_bytes()
            name = extra.stem[:10]
            (photos / f"{name}.jpg").write_bytes(data)
            ids[name] = store.put(data, "bench").id
            with Image.open(extra) as img:
                sizes[name] = img.size
        paths = {
            name: store.transform_url(i, width=BOX, height=BOX, format="jpeg", quality=QUALITY)
            for name, i in ids.items()
        }
    expected = {
        name: (BOX, round(BOX * h / w)) if w >= h else (round(BOX * w / h), BOX)
        for name, (w, h) in sizes.items()
    }

    base_env = {k: v for k, v in os.environ.items() if not k.startswith("PICSTORE_")}
    base_env.update(
        {
            f"PICSTORE_{k.upper()}": json.dumps(v) if isinstance(v, list | bool) else str(v)
            for k, v in settings.items()
        }
    )
    if args.vips_concurrency:
        base_env["VIPS_CONCURRENCY"] = str(args.vips_concurrency)
    conf = work / "thumbor.conf"
    conf.write_text(
        f"LOADER = 'thumbor.loaders.file_loader'\nFILE_LOADER_ROOT_PATH = '{photos}'\n"
        "STORAGE = 'thumbor.storages.no_storage'\nRESULT_STORAGE = None\nALLOW_UNSAFE_URL = True\n"
        f"QUALITY = {QUALITY}\nENGINE_THREADPOOL_SIZE = {max(args.concurrency)}\n"
    )
    servers: dict[str, Callable[[], object]] = {}
    urls: dict[str, dict[str, str]] = {}
    for name in ("picstore", "presets"):
        if name not in args.servers:
            continue
        port = free_port()
        env = {**base_env, "PICSTORE_PORT": str(port)}
        if name == "presets":
            env["PICSTORE_TRANSFORM_FROM_PRESETS"] = "true"
        base = f"http://127.0.0.1:{port}"
        urls[name] = {p: base + "/" + u.split("://", 1)[1].split("/", 1)[1] for p, u in paths.items()}
        servers[name] = partial(
            server, [sys.executable, "-m", "picstore", "serve"], env, f"{base}/healthz", work / f"{name}.log"
        )
    thumbor_py = thumbor_python() if "thumbor" in args.servers else None
    if thumbor_py is not None:
        tport = free_port()
        tbase = f"http://127.0.0.1:{tport}"
        urls["thumbor"] = {
            p: f"{tbase}/unsafe/fit-in/{BOX}x{BOX}/filters:format(jpeg):quality({QUALITY})/{p}.jpg"
            for p in sizes
        }
        servers["thumbor"] = partial(
            server,
            [str(thumbor_py.parent / "thumbor"), "-p", str(tport), "-c", str(conf), "-l", "error"],
            dict(os.environ),
            f"{tbase}/healthcheck",
            work / "thumbor.log",
        )
    use_wrk = args.wrk and shutil.which("wrk") is not None
    wrk_script = work / "p95.lua"
    wrk_script.write_text(WRK_SCRIPT)
    results: dict[tuple[str, str, int], list[tuple[float, float, float]]] = {}
    rss: dict[str, list[float]] = {}
    psnr: dict[tuple[str, str], float] = {}
    print(
        f"cores: {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}, one process each, load: "
        + ("wrk" if use_wrk else "asyncio client")
        + f", {args.seconds:g} s x {args.rounds} rounds per cell"
        + (f", VIPS_CONCURRENCY={args.vips_concurrency}" if args.vips_concurrency else ""),
        flush=True,
    )
    for rnd in range(args.rounds):
        order = list(servers) if rnd % 2 == 0 else list(reversed(servers))
        for name in order:
            with servers[name]() as proc:  # type: ignore[attr-defined]
                for photo in sizes:
                    url = urls[name][photo]
                    psnr[(name, photo)] = fidelity(url, photos / f"{photo}.jpg", expected[photo])
                    load_async(url, 2, 1)  # warm-up
                    for conc in args.concurrency:
                        cpu_before = cpu_seconds(proc.pid)
                        if use_wrk:
                            rps, p95 = load_wrk(url, conc, args.seconds, wrk_script)
                        else:
                            rps, p95 = load_async(url, conc, args.seconds)
                        cpu_ms = (cpu_seconds(proc.pid) - cpu_before) * 1000 / (rps * args.seconds)
                        results.setdefault((name, photo, conc), []).append((rps, p95, cpu_ms))
    if args.rss_requests:
        for name in servers:
            with servers[name]() as proc:  # type: ignore[attr-defined]
                samples = [rss_mib(proc.pid)]
                step = max(1, args.rss_requests // 10)
                for _ in range(10):
                    for url in urls[name].values():
                        load_async(url, max(args.concurrency), 3600, step // len(urls[name]))
                    samples.append(rss_mib(proc.pid))
                rss[name] = samples
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    if results:
        print(report(results, list(sizes), args.concurrency))
    for photo in sizes if psnr else ():
        shown = ", ".join(f"{n} {psnr[(n, photo)]:.1f} dB" for n in servers if (n, photo) in psnr)
        print(f"fidelity {photo} (PSNR against a full-size Lanczos-3 resize, not encoded): {shown}")
    for name, samples in rss.items():
        shown = ", ".join(f"{s:.0f}" for s in samples)
        print(f"RSS {name} (MiB, every {args.rss_requests // 10} requests of {args.rss_requests}): {shown}")


def report(
    results: dict[tuple[str, str, int], list[tuple[float, float, float]]],
    photos: list[str],
    concurrency: list[int],
) -> str:
    """The table: per contestant and cell, medians of req/s, p95 ms and CPU ms/request, and the ratios."""
    names = [n for n in CONTESTANTS if any(k[0] == n for k in results)]
    lines = [f"fit-in {BOX}x{BOX} JPEG q{QUALITY}, every request renders (no result storage)"]
    lines.append(
        f"{'photo':>10} {'conc':>4} | " + " | ".join(f"{n + ' req/s, p95 ms, CPU ms/req':>36}" for n in names)
    )
    ratios: list[str] = []
    for photo in photos:
        for conc in concurrency:
            cells = {}
            for n in names:
                rows = results.get((n, photo, conc), [])
                if rows:
                    cells[n] = tuple(statistics.median(r[i] for r in rows) for i in range(3))
            if not cells:
                continue
            shown = " | ".join(
                f"{cells[n][0]:>20.1f} {cells[n][1]:>6.0f} {cells[n][2]:>8.1f}" if n in cells else " " * 36
                for n in names
            )
            lines.append(f"{photo:>10} {conc:>4} | {shown}")
            if "thumbor" in cells:
                t = cells["thumbor"]
                for n in names:
                    if n != "thumbor" and n in cells:
                        p = cells[n]
                        ratios.append(
                            f"{photo:>10} {conc:>4} {n:>9}/thumbor: {p[0] / t[0]:.2f}x req/s, "
                            f"p95 {p[1] / t[1]:.2f}x, CPU per request {p[2] / t[2]:.2f}x"
                        )
    return "\n".join(lines + (["", *ratios] if ratios else []))


CONTESTANTS = ("picstore", "presets", "thumbor")

if __name__ == "__main__":
    main()
