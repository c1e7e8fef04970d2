"""`picstore migrate` file:// -> Ceph RGW against `rclone copy` and `aws s3 sync` of the same files.

N blobs of 50 KiB (random bytes, so nothing compresses or dedupes) are written to a file store and
catalogued (rows loaded straight into picstore's blobs table, SQLite). Then, into the same RGW in the same
run: picstore migrates them with verification on (each blob read and checked against its recorded size
and SHA-256, written create-only, the copy proved by RGW's MD5 ETag of the write, the catalog flipped in
batches) and, with --read-back, again reading each copy back from RGW and checking its SHA-256;
`rclone copy --transfers 16` copies the directory (it checks each upload's MD5 against the ETag); `aws s3
sync` with 16 concurrent requests does the same. Files per second for each and picstore's ratio to
rclone are printed, and where each file's CPU went: the tool's own process, radosgw and ceph-osd (all on
the same machine: when the cores are the limit, the ratio is the ratio of those sums).

    .venv/bin/python benchmarks/migrate.py                       # 1,000 and 10,000 blobs
    .venv/bin/python benchmarks/migrate.py --sizes 1000 --skip aws

rclone comes from Debian (installed with apt-get when it is missing and this runs as root); the AWS CLI
from PyPI into its own venv (``benchmarks/.venv-awscli``, made on first use). One that cannot be had is
skipped with the reason. Uses the RGW at --endpoint (default http://127.0.0.1:7480, user test/testsecret).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
# benchmarks/ last, not first: its http.py must not hide the standard library's http package.
sys.path[:] = [str(REPO / "src")] + [p for p in sys.path if Path(p or ".").resolve() != REPO / "benchmarks"]
sys.path.append(str(REPO / "benchmarks"))

from side_venv import side_venv  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from picstore import ImageStore  # noqa: E402
from picstore.blobs.local import LocalStore  # noqa: E402
from picstore.catalog.tables import blobs  # noqa: E402
from picstore.ops.migrate import migrate  # noqa: E402
from picstore.settings import load_settings  # noqa: E402
from s3 import boto3_client, empty  # noqa: E402


def make_blobs(root: Path, n: int, size: int) -> list[dict[str, Any]]:
    """``n`` random blobs in a file store under ``root``; their catalog rows."""
    store = LocalStore(root)
    rows = []
    now = time.time_ns() // 1000
    for _ in range(n):
        data = os.urandom(size)
        sha = hashlib.sha256(data).hexdigest()
        key = f"img/{sha[:2]}/{sha[2:4]}/{sha}.jpg"
        store.put(key, data, content_type="image/jpeg")
        rows.append(
            {"key": key, "store": store.url, "size": size, "sha256": sha, "content_type": "image/jpeg"}
            | {"created_us": now, "orphaned_us": None}
        )
    return rows


def run_picstore(
    root: Path, db: Path, rows: list[dict[str, Any]], target: str, args: Any, read_back: bool = False
) -> float:
    settings = load_settings(
        storage=root.as_uri(), database=f"sqlite:///{db}", s3_endpoint=args.endpoint, target_ttl=0
    )
    with ImageStore.from_settings(settings) as store:
        with store.engine.begin() as conn:
            conn.execute(insert(blobs), rows)
        report = migrate(store, target, workers=args.concurrency, read_back=read_back)
        if not report.ok or report.copied != len(rows):
            raise SystemExit(f"picstore migrate failed: {report.to_dict()}")
        return report.seconds


def rclone_command() -> str | None:
    """rclone's path, installed from Debian when missing (as root); None with the reason printed."""
    if shutil.which("rclone") is None and os.geteuid() == 0 and shutil.which("apt-get"):
        print("installing rclone (apt-get install rclone) ...", flush=True)
        subprocess.run(["apt-get", "install", "-y", "-q", "rclone"], capture_output=True)
    found = shutil.which("rclone")
    if found is None:
        print("SKIP rclone: not on PATH and not installable here (apt-get install rclone, as root)")
    return found


def aws_command() -> str | None:
    """The AWS CLI, from its own venv (installed from PyPI on first use); None with the reason printed."""
    venv = side_venv("awscli", "awscli", ["aws", "--version"])
    return None if venv is None else str(venv / "bin" / "aws")


def server_cpu() -> dict[str, float]:
    """CPU seconds used so far by the S3 server's processes on this machine (radosgw, ceph-osd)."""
    used = {"radosgw": 0.0, "ceph-osd": 0.0}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            name = Path(f"/proc/{pid}/comm").read_text().strip()
            if name in used:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                used[name] += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except OSError:
            continue
    return used


def own_cpu() -> float:
    """CPU seconds of this process and its finished children (the tools run as children)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def measured(run: Any, *args: Any, **kwargs: Any) -> tuple[float, dict[str, float]]:
    """Run ``run(*args, **kwargs)`` (it returns its seconds); those seconds and the CPU seconds it cost:
    the tool's own, radosgw's and ceph-osd's."""
    before, mine = server_cpu(), own_cpu()
    seconds = run(*args, **kwargs)
    after = server_cpu()
    return seconds, {"tool": own_cpu() - mine} | {k: after[k] - before[k] for k in after}


def run_rclone(root: Path, bucket: str, prefix: str, args: Any) -> float:
    # The remote is defined by environment variables (rclone's RCLONE_CONFIG_<NAME>_<KEY>), no config
    # file. An AWS_CA_BUNDLE in the environment makes Debian's rclone refuse a plain-HTTP endpoint.
    env = {k: v for k, v in os.environ.items() if k != "AWS_CA_BUNDLE"}
    env.update(
        RCLONE_CONFIG_BENCH_TYPE="s3",
        RCLONE_CONFIG_BENCH_PROVIDER="Ceph",
        RCLONE_CONFIG_BENCH_ENDPOINT=args.endpoint,
        RCLONE_CONFIG_BENCH_ACCESS_KEY_ID=args.access_key,
        RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY=args.secret_key,
    )
    cmd = [args.rclone, "copy", str(root), f"bench:{bucket}/{prefix}", "--transfers", str(args.concurrency)]
    cmd += ["--checkers", "16"]
    started = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env=env)
    return time.perf_counter() - started


def run_aws(root: Path, bucket: str, prefix: str, args: Any, config_dir: Path) -> float:
    config = config_dir / "aws-config"
    config.write_text(f"[default]\ns3 =\n    max_concurrent_requests = {args.concurrency}\n")
    env = dict(
        os.environ,
        AWS_CONFIG_FILE=str(config),
        AWS_ACCESS_KEY_ID=args.access_key,
        AWS_SECRET_ACCESS_KEY=args.secret_key,
        AWS_DEFAULT_REGION="us-east-1",
    )
    cmd = [args.aws, "s3", "sync", str(root), f"s3://{bucket}/{prefix}", "--endpoint-url", args.endpoint]
    started = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env=env)
    return time.perf_counter() - started


def count(client: Any, bucket: str, prefix: str) -> int:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sum(len(p.get("Contents", [])) for p in pages)


def tool_runs(
    root: Path, rows: list[dict[str, Any]], tmp: Path, args: Any
) -> dict[str, Callable[[str], float]]:
    """The contestants, each a function of the bucket it writes into that returns its seconds."""
    runs: dict[str, Callable[[str], float]] = {}
    if args.rclone:
        runs["rclone copy"] = lambda bucket: run_rclone(root, bucket, "b", args)
    runs["picstore migrate"] = lambda bucket: run_picstore(
        root, tmp / f"{bucket}.db", rows, f"s3://{bucket}/b", args
    )
    if args.read_back:
        runs["  --read-back"] = lambda bucket: run_picstore(
            root, tmp / f"{bucket}.db", rows, f"s3://{bucket}/b", args, read_back=True
        )
    if args.aws:
        runs["aws s3 sync"] = lambda bucket: run_aws(root, bucket, "b", args, tmp)
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000], help="blob counts")
    parser.add_argument("--kib", type=int, default=50, help="blob size in KiB")
    parser.add_argument("--concurrency", type=int, default=16, help="parallel copies for every tool")
    parser.add_argument("--read-back", action="store_true", help="also migrate with --read-back")
    parser.add_argument("--skip", nargs="*", default=[], choices=["rclone", "aws"], help="anchors to skip")
    parser.add_argument("--endpoint", default=os.environ.get("RGW_ENDPOINT", "http://127.0.0.1:7480"))
    parser.add_argument("--access-key", default=os.environ.get("S3_ACCESS_KEY", "test"))
    parser.add_argument("--secret-key", default=os.environ.get("S3_SECRET_KEY", "testsecret"))
    args = parser.parse_args()
    os.environ.update(AWS_ACCESS_KEY_ID=args.access_key, AWS_SECRET_ACCESS_KEY=args.secret_key)
    args.rclone = None if "rclone" in args.skip else rclone_command()
    args.aws = None if "aws" in args.skip else aws_command()
    client = boto3_client(args.endpoint, args.access_key, args.secret_key, 16)
    print(
        f"{args.kib} KiB blobs, {args.concurrency} in parallel, file:// -> {args.endpoint}, a new bucket each"
    )
    print(f"{'blobs':>7} {'tool':<20} {'seconds':>8} {'files/s':>8} {'MB/s':>6}  vs rclone   CPU ms a file")
    for n in args.sizes:
        with tempfile.TemporaryDirectory(prefix="picstore-bench-") as tmp:
            root = Path(tmp) / "blobs"
            rows = make_blobs(root, n, args.kib * 1024)
            runs = tool_runs(root, rows, Path(tmp), args)
            results: dict[str, tuple[float, dict[str, float]]] = {}
            for tool, run in runs.items():
                # Each tool writes into an empty bucket of its own: a bucket's index grows with its
                # objects, and RGW's cost per write with it, so a shared bucket would favour the first.
                bucket = f"picstore-bench-{uuid.uuid4().hex[:10]}"
                client.create_bucket(Bucket=bucket)
                try:
                    results[tool] = measured(run, bucket)
                    assert count(client, bucket, "b/") == n, tool
                finally:
                    empty(client, bucket)
                    client.delete_bucket(Bucket=bucket)
            anchor = results.get("rclone copy")
            for tool, (seconds, cpu) in results.items():
                ratio = f"{anchor[0] / seconds:.2f}x" if anchor else "-"
                mb = n * args.kib * 1024 / seconds / 1e6
                spent = " ".join(f"{k} {v * 1000 / n:.2f}" for k, v in cpu.items())
                total = sum(cpu.values()) * 1000 / n
                print(
                    f"{n:>7,} {tool:<20} {seconds:>8.2f} {n / seconds:>8.0f} {mb:>6.1f}  {ratio:>8}   "
                    f"{total:.2f} ({spent})"
                )


if __name__ == "__main__":
    main()
