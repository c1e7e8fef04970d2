"""Benchmark: ImageStore.put of 12 MP and 24 MP photos against the usual Pillow pipeline and sharp.

What it does (see docs/performance.md "## Ingest" for results and reading):

1. Makes the inputs: a corpus photo upscaled to 12 MP and 24 MP with seeded grain, saved as JPEG
   (about 2.5 MB at 12 MP), in a temporary directory outside the repository.
2. Latency and memory, one core: each contestant runs in a fresh child process pinned to one CPU
   (libvips and sharp limited to one thread), uploads once to warm up, then ``--uploads`` times; each
   upload's wall time and its peak RSS above the child's resting RSS (the kernel's high-water mark,
   reset before each upload through /proc/self/clear_refs) are recorded. Contestants alternate
   within each of ``--rounds`` rounds; medians are reported with the ratio to the Pillow anchor.
   - ``picstore-eN``: ``ImageStore.put`` on a memory:// store with an in-memory SQLite catalog, default
     settings but ``webp_effort=N`` (the master re-encoded, variants thumb/card/large in JPEG and WebP),
     for N in ``--efforts`` (default: 4, Pillow's and sharp's default effort, and 2);
   - ``pillow``: the usual Pillow pipeline doing the same work: full decode and exif_transpose, the
     master re-encoded (capped at 4096), ``Image.thumbnail`` (``ImageOps.fit`` for the cover crop) per
     variant from the full image, JPEG q85 + WebP q80 saves with Pillow's defaults;
   - ``sharp-eN``: sharp's cascade (master re-encoded; one decode at 1600 px, 640 and 200 made from
     it in memory), same qualities, WebP effort N; only when Node is present (sharp is installed with
     npm into /tmp/sharpbench, never into the repository).
3. Throughput: 1 worker thread vs 2 worker threads calling ``ImageStore.put`` in one process (libvips
   one thread per worker: one image per worker thread), 12 MP, images per second, alternating rounds.

Usage: .venv/bin/python benchmarks/ingest.py [--rounds 5] [--uploads 3] [--no-sharp] [--quick]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

HERE = Path(__file__).resolve()
CORPUS = Path(os.environ.get("PICSTORE_CORPUS", "/work/shared/corpus"))
SOURCE_PHOTO = "orientation/recurser/Landscape_1.jpg"
SHARP_DIR = Path("/tmp/sharpbench")
MB = 1 << 20

# --- inputs ------------------------------------------------------------------------------------------


def make_inputs(directory: Path) -> dict[str, Path]:
    """12 MP and 24 MP grainy photos made from a corpus photo (upscaled, seeded Gaussian grain)."""
    import pyvips

    photo = pyvips.Image.new_from_file(str(CORPUS / SOURCE_PHOTO))
    out = {}
    photo.thumbnail_image(320).jpegsave(str(directory / "tiny.jpg"), Q=85)  # the warm-up upload
    for label, (width, height) in {"12MP": (4000, 3000), "24MP": (6000, 4000)}.items():
        big = photo.resize(width / photo.width, vscale=height / photo.height, kernel="lanczos3")
        grain = pyvips.Image.gaussnoise(width, height, sigma=5, mean=0, seed=12)
        path = directory / f"photo_{label}.jpg"
        (big + grain).cast("uchar").jpegsave(str(path), Q=85, keep="none")
        out[label] = path
    return out


# --- children ------------------------------------------------------------------------------------------


def _status_kb(key: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def _measure(upload, data: bytes, uploads: int, tiny: bytes) -> dict[str, list[float]]:
    # Warm up on a small photo (imports, codec tables) without growing the heap, so that the first
    # measured upload shows the memory a cold worker really adds; later ones show the steady state.
    upload(tiny)
    times, peaks = [], []
    for _ in range(uploads):
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")  # reset VmHWM to the current RSS
        rest = _status_kb("VmRSS")
        started = time.perf_counter()
        upload(data)
        times.append((time.perf_counter() - started) * 1000)
        peaks.append((_status_kb("VmHWM") - rest) / 1024)
    return {"ms": times, "peak_mb": peaks}


def _picstore_uploader(webp_effort: int | None = None):
    from picstore import ImageStore
    from picstore.settings import load_settings

    overrides = {} if webp_effort is None else {"webp_effort": webp_effort}
    store = ImageStore(storage="memory://", database="sqlite://", settings=load_settings(**overrides))
    store.create_tenant("bench")
    return lambda data: store.put(data, "bench")


def pillow_usual(data: bytes) -> list[bytes]:
    """The usual Pillow pipeline, doing the work picstore does (master + 3 presets x JPEG/WebP)."""
    from PIL import Image, ImageOps

    image = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")  # full decode
    outputs = []

    def save(im: Image.Image, fmt: str, **params: object) -> None:
        buf = io.BytesIO()
        im.save(buf, fmt, **params)
        outputs.append(buf.getvalue())

    master = image.copy()
    master.thumbnail((4096, 4096))
    save(master, "JPEG", quality=85)
    for box, crop in (((1600, 1600), False), ((640, 100_000), False), ((200, 200), True)):
        variant = ImageOps.fit(image, box) if crop else image.copy()
        if not crop:
            variant.thumbnail(box)
        save(variant, "JPEG", quality=85)
        save(variant, "WEBP", quality=80)
    return outputs


def child_main(contestant: str, path: str, uploads: int) -> None:
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, like the anchors
    data = Path(path).read_bytes()
    tiny = (Path(path).parent / "tiny.jpg").read_bytes()
    if contestant == "pillow":
        upload = pillow_usual
    else:
        import pyvips

        pyvips.concurrency_set(1)
        upload = _picstore_uploader(int(contestant.rsplit("-e", 1)[1]))
    print(json.dumps(_measure(upload, data, uploads, tiny)))


def workers_main(path: str, workers: int, uploads: int, pin: bool) -> None:
    """Images per second of ``workers`` threads, each putting one image at a time.

    With ``pin``, the process gets exactly ``workers`` cores: the deployment rule "one ingest thread per
    core", which keeps libvips' own helper thread from borrowing the idle core of a lone worker.
    """
    from concurrent.futures import ThreadPoolExecutor

    import pyvips

    if pin:
        os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[:workers]))

    pyvips.concurrency_set(1)  # one image per worker thread; libvips adds no threads of its own
    data = Path(path).read_bytes()
    put = _picstore_uploader()
    put(data)
    started, cpu = time.perf_counter(), time.process_time()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(lambda _: put(data), range(uploads)))
    wall = time.perf_counter() - started
    # CPU% tells a GIL or lock (stays near 100 %) from a machine whose other core is busy elsewhere.
    print(
        json.dumps({"images_per_s": uploads / wall, "cpu_percent": 100 * (time.process_time() - cpu) / wall})
    )


SHARP_JS = textwrap.dedent(
    """
    const sharp = require('sharp');
    const fs = require('fs');
    sharp.concurrency(1);
    sharp.cache(false);
    const [file, tiny] = [process.argv[2], process.argv[5]];
    const [uploads, effort] = [+process.argv[3], +process.argv[4]];
    const status = (key) => +fs.readFileSync('/proc/self/status', 'utf8').split('\\n')
      .find((l) => l.startsWith(key + ':')).split(/\\s+/)[1];
    async function upload(input) {
      const out = [];
      const opts = { failOn: 'error' };
      const inside = { fit: 'inside', withoutEnlargement: true };
      const whole = { resolveWithObject: true };
      out.push(await sharp(input, opts).rotate().resize(4096, 4096, inside).jpeg({ quality: 85 }).toBuffer());
      let current = await sharp(input, opts).rotate().resize(1600, 1600, inside).raw().toBuffer(whole);
      const steps = [null, { width: 640 }, { width: 200, height: 200, fit: 'cover' }];
      for (const step of steps) {
        const raw = { raw: current.info };
        let made = current;
        if (step) made = await sharp(current.data, raw).resize(step).raw().toBuffer(whole);
        const mraw = { raw: made.info };
        out.push(await sharp(made.data, mraw).jpeg({ quality: 85 }).toBuffer());
        out.push(await sharp(made.data, mraw).webp({ quality: 80, effort }).toBuffer());
        if (!step || step.width === 640) current = made;
      }
      return out;
    }
    (async () => {
      const data = fs.readFileSync(file);
      await upload(fs.readFileSync(tiny));
      const ms = [], peak = [];
      for (let i = 0; i < uploads; i++) {
        fs.writeFileSync('/proc/self/clear_refs', '5');
        const rest = status('VmRSS');
        const t = process.hrtime.bigint();
        await upload(data);
        ms.push(Number(process.hrtime.bigint() - t) / 1e6);
        peak.push((status('VmHWM') - rest) / 1024);
      }
      console.log(JSON.stringify({ ms, peak_mb: peak }));
    })();
    """
)


def ensure_sharp() -> Path | None:
    """sharp installed under /tmp/sharpbench (npm), or None when Node or npm is missing."""
    if not (shutil.which("node") and shutil.which("npm")):
        return None
    if not (SHARP_DIR / "node_modules" / "sharp").is_dir():
        SHARP_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--silent", "--prefix", str(SHARP_DIR), "sharp"], check=True)
    script = SHARP_DIR / "bench.js"
    script.write_text(SHARP_JS)
    return script


# --- parent ----------------------------------------------------------------------------------------------


def run_child(contestant: str, path: Path, uploads: int, sharp: Path | None) -> dict:
    env = {**os.environ, "VIPS_CONCURRENCY": "1", "UV_THREADPOOL_SIZE": "1"}
    if contestant.startswith("sharp"):
        webp_effort = int(contestant.rsplit("-e", 1)[1])
        assert sharp is not None
        cmd = ["node", str(sharp), str(path), str(uploads), str(webp_effort), str(path.parent / "tiny.jpg")]
        cpu = min(os.sched_getaffinity(0))
        out = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            env={**env, "NODE_PATH": str(SHARP_DIR / "node_modules")},
            cwd=SHARP_DIR,
            check=True,
            preexec_fn=lambda: os.sched_setaffinity(0, {cpu}),
        )
    else:
        cmd = [sys.executable, str(HERE), "--child", contestant, str(path), str(uploads)]
        out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--uploads", type=int, default=3, help="timed uploads per child")
    parser.add_argument("--worker-uploads", type=int, default=16)
    parser.add_argument("--no-sharp", action="store_true")
    parser.add_argument("--efforts", default="4,2", help="WebP efforts to run picstore and sharp at")
    parser.add_argument("--quick", action="store_true", help="2 rounds, 1 upload: a smoke run")
    parser.add_argument("--workers-only", action="store_true", help="only the 1 vs 2 workers throughput")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--workers-child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(args.child[0], args.child[1], int(args.child[2]))
        return
    if args.workers_child:
        workers_main(
            args.workers_child[0],
            int(args.workers_child[1]),
            int(args.workers_child[2]),
            args.workers_child[3] == "pin",
        )
        return
    if args.quick:
        args.rounds, args.uploads, args.worker_uploads = 2, 1, 6

    from picstore.settings import load_settings

    efforts = [int(e) for e in args.efforts.split(",")]
    sharp = None if args.no_sharp else ensure_sharp()
    contestants = ["pillow", *(f"picstore-e{e}" for e in efforts), *(f"sharp-e{e}" for e in efforts if sharp)]
    workdir = Path(tempfile.mkdtemp(prefix="picstore-bench-"))
    try:
        inputs = make_inputs(workdir)
        print("inputs: " + ", ".join(f"{k} {p.stat().st_size / MB:.2f} MB" for k, p in inputs.items()))
        default = load_settings().webp_effort
        print(
            f"settings default webp_effort={default}; {args.rounds} rounds x {args.uploads} uploads a child"
        )
        print("one core; ms/image is the median over all uploads\n")
        for label, path in inputs.items():
            if args.workers_only:
                break
            times: dict[str, list[float]] = {c: [] for c in contestants}
            cold: dict[str, list[float]] = {c: [] for c in contestants}
            steady: dict[str, list[float]] = {c: [] for c in contestants}
            for r in range(args.rounds):
                order = contestants[r % len(contestants) :] + contestants[: r % len(contestants)]
                for contestant in order:
                    got = run_child(contestant, path, args.uploads, sharp)
                    times[contestant] += got["ms"]
                    cold[contestant].append(got["peak_mb"][0])
                    steady[contestant] += got["peak_mb"][1:] or got["peak_mb"]
            anchor = statistics.median(times["pillow"])
            print(
                f"{label}: {'contestant':<12} {'ms/image':>9} {'vs Pillow':>9} "
                f"{'MB added, cold':>15} {'steady':>7}"
            )
            for c in contestants:
                ms = statistics.median(times[c])
                mb_cold, mb_steady = statistics.median(cold[c]), statistics.median(steady[c])
                print(f"      {c:<12} {ms:9.0f} {ms / anchor:8.2f}x {mb_cold:15.1f} {mb_steady:7.1f}")
            print()
        for mode in ("free", "pin"):
            rates: dict[int, list[float]] = {1: [], 2: []}
            cpus: dict[int, list[float]] = {1: [], 2: []}
            for _ in range(max(3, args.rounds // 2 + 1)):
                for workers in (1, 2):
                    cmd = [
                        sys.executable,
                        str(HERE),
                        "--workers-child",
                        str(inputs["12MP"]),
                        str(workers),
                        str(args.worker_uploads),
                        mode,
                    ]
                    out = subprocess.run(
                        cmd, capture_output=True, text=True, env={**os.environ, "VIPS_CONCURRENCY": "1"}
                    )
                    if out.returncode != 0:
                        raise SystemExit(f"worker child failed:\n{out.stderr[-3000:]}")
                    got = json.loads(out.stdout.strip().splitlines()[-1])
                    rates[workers].append(got["images_per_s"])
                    cpus[workers].append(got["cpu_percent"])
            one, two = statistics.median(rates[1]), statistics.median(rates[2])
            where = "all CPUs" if mode == "free" else "one core per worker"
            print(
                f"12MP throughput (ImageStore.put, {where}): 1 worker {one:.2f} img/s, "
                f"2 workers {two:.2f} img/s = {two / one:.2f}x (process CPU "
                f"{statistics.median(cpus[1]):.0f} % / {statistics.median(cpus[2]):.0f} %; "
                f"load average now: {os.getloadavg()[0]:.1f})"
            )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
