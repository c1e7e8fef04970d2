"""`picstore import` of a legacy tree against `ImageStore.put` of the same files in a loop.

The tree: ``--files`` JPEG photos (a corpus photo at 1024x768 with seeded grain, so every file differs,
about 150-250 KB each) in nested folders with spaces in their names, as an old picture directory holds.
Each round ingests the whole tree into a fresh store (file:// blobs, SQLite catalog) twice, alternating
which goes first: once with ``import_tree`` (threads, each old path recorded, idempotency keys), once
with a plain loop calling ``ImageStore.put`` on every file (the anchor). Files per second and the ratio
are printed; the ratio says what the parallel import gains over the obvious script on this machine.

    .venv/bin/python benchmarks/import.py                # 200 files, 2 rounds
    .venv/bin/python benchmarks/import.py --files 50 --rounds 1
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# benchmarks/ must not come first: its http.py would hide the standard library's http package.
sys.path[:] = [str(REPO / "src")] + [p for p in sys.path if Path(p or ".").resolve() != REPO / "benchmarks"]

from picstore import ImageStore  # noqa: E402
from picstore.ops.importer import TenantRule, import_tree, walk_files  # noqa: E402
from picstore.settings import load_settings  # noqa: E402

CORPUS = Path(os.environ.get("PICSTORE_CORPUS", "/work/shared/corpus"))
SOURCE_PHOTO = "orientation/recurser/Landscape_1.jpg"


def make_tree(root: Path, files: int) -> int:
    """``files`` distinct 1024x768 JPEGs under ``root``; their total size in bytes."""
    import pyvips

    photo = pyvips.Image.new_from_file(str(CORPUS / SOURCE_PHOTO)).thumbnail_image(
        1024, height=768, crop="centre"
    )
    total = 0
    for i in range(files):
        folder = root / f"customer {i % 7}" / f"album {i % 3}"
        folder.mkdir(parents=True, exist_ok=True)
        grain = pyvips.Image.gaussnoise(photo.width, photo.height, sigma=4, mean=0, seed=i)
        noisy = (photo + grain).cast("uchar")
        path = folder / f"photo {i:05d}.jpg"
        noisy.jpegsave(str(path), Q=88)
        total += path.stat().st_size
    return total


def fresh_store(directory: Path) -> ImageStore:
    settings = load_settings(storage=(directory / "blobs").as_uri(), database=f"sqlite:///{directory}/c.db")
    store = ImageStore.from_settings(settings)
    store.create_tenant("acme")
    return store


def run_import(tree: Path, work: Path, workers: int | None) -> float:
    with fresh_store(work) as store:
        started = time.perf_counter()
        report = import_tree(store, tree, TenantRule.of("acme", None), workers=workers)
        seconds = time.perf_counter() - started
        assert report.ok and report.refused == [], report.to_dict()
        return report.imported / seconds


def run_loop(tree: Path, work: Path) -> float:
    paths = [os.fsdecode(full) for full, _rel in walk_files(tree)]
    with fresh_store(work) as store:
        started = time.perf_counter()
        for path in paths:
            store.put(path, "acme", Path(path).name)
        return len(paths) / (time.perf_counter() - started)


def main() -> None:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", type=int, default=None, help="import threads (default: its own)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="picstore-import-bench-") as tmp:
        tree = Path(tmp) / "pictures"
        size = make_tree(tree, args.files)
        print(
            f"{args.files} files, {size / args.files / 1000:.0f} KB each on average, {os.cpu_count()} cores"
        )
        imported: list[float] = []
        looped: list[float] = []
        for r in range(args.rounds):
            order = ["import", "loop"] if r % 2 == 0 else ["loop", "import"]
            for which in order:
                work = Path(tmp) / f"{which}-{r}"
                work.mkdir()
                if which == "import":
                    imported.append(run_import(tree, work, args.workers))
                else:
                    looped.append(run_loop(tree, work))
            print(f"round {r + 1}: import {imported[-1]:.1f} files/s, put loop {looped[-1]:.1f} files/s")
        a, b = statistics.median(imported), statistics.median(looped)
        print(f"median: picstore import {a:.1f} files/s, ImageStore.put loop {b:.1f} files/s: {a / b:.2f}x")


if __name__ == "__main__":
    main()
