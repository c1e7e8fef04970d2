"""picstore's S3 store against a plain boto3 loop: puts and gets of small objects on Ceph RGW.

Both clients run in the same process against the same RGW, 16 requests in flight (16 threads each),
alternating which goes first in each round, after a warm-up round. picstore does its whole job (SHA-256,
create-only PUT with If-None-Match, Content-Type + Cache-Control + sha256 metadata; reads checked against
size and hash); boto3 sends the same Content-Type and Cache-Control and reads the body.

    .venv/bin/python benchmarks/s3.py                # 2,000 x 50 KiB, 3 rounds
    .venv/bin/python benchmarks/s3.py --objects 500 --rounds 1

Uses the RGW at --endpoint when it answers, else starts one with scripts/rgw.sh (bluestore: bounded memory)
and stops it at the end. Compare the ratios, not the absolute numbers.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from picstore.blobs.base import IMMUTABLE_CACHE_CONTROL as CACHE_CONTROL  # noqa: E402
from picstore.blobs.s3 import S3Store  # noqa: E402


def answers(endpoint: str) -> bool:
    # An S3 server, not just anything on that address (a proxy may answer for any host): every S3
    # answer carries a request id.
    try:
        return "x-amz-request-id" in httpx.get(endpoint + "/", timeout=2).headers
    except httpx.HTTPError:
        return False


def boto3_client(endpoint: str, key: str, secret: str, pool: int) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        region_name="us-east-1",
        # when_required: boto3 >= 1.36 otherwise adds CRC32 checksums, which not every S3 server accepts.
        config=Config(
            max_pool_connections=pool,
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            s3={"addressing_style": "path"},
        ),
    )


def timed(n: int, workers: int, fn: Callable[[int], object]) -> float:
    """Objects per second for fn(0..n-1) with ``workers`` threads."""
    with ThreadPoolExecutor(workers) as pool:
        started = time.perf_counter()
        for _ in pool.map(fn, range(n)):
            pass
        return n / (time.perf_counter() - started)


def run_boto3(
    client: Any, bucket: str, prefix: str, data: bytes, n: int, workers: int
) -> tuple[float, float]:
    def put(i: int) -> None:
        client.put_object(
            Bucket=bucket,
            Key=f"{prefix}/{i:05d}.jpg",
            Body=data,
            ContentType="image/jpeg",
            CacheControl=CACHE_CONTROL,
        )

    def get(i: int) -> None:
        body = client.get_object(Bucket=bucket, Key=f"{prefix}/{i:05d}.jpg")["Body"].read()
        assert len(body) == len(data)

    return timed(n, workers, put), timed(n, workers, get)


def run_picstore(store: S3Store, prefix: str, data: bytes, n: int, workers: int) -> tuple[float, float]:
    def put(i: int) -> None:
        store.put(f"{prefix}/{i:05d}.jpg", data, content_type="image/jpeg")

    def get(i: int) -> None:
        assert len(store.get(f"{prefix}/{i:05d}.jpg")) == len(data)

    return timed(n, workers, put), timed(n, workers, get)


def empty(client: Any, bucket: str) -> None:
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if keys:
            client.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--objects", type=int, default=2000)
    parser.add_argument("--size", type=int, default=50 * 1024, help="bytes per object")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--endpoint", default=os.environ.get("RGW_ENDPOINT", "http://127.0.0.1:7480"))
    parser.add_argument("--access-key", default=os.environ.get("S3_ACCESS_KEY", "test"))
    parser.add_argument("--secret-key", default=os.environ.get("S3_SECRET_KEY", "testsecret"))
    args = parser.parse_args()

    started_here = False
    if not answers(args.endpoint):
        print(f"starting Ceph RGW (bluestore) at {args.endpoint} ...", flush=True)
        port = args.endpoint.rsplit(":", 1)[-1].strip("/")
        env = dict(os.environ, RGW_PORT=port, RGW_STORE="bluestore")
        subprocess.run([str(REPO / "scripts" / "rgw.sh"), "start"], env=env, check=True)
        started_here = True

    bucket = f"picstore-bench-{uuid.uuid4().hex[:10]}"
    client = boto3_client(args.endpoint, args.access_key, args.secret_key, args.concurrency)
    client.create_bucket(Bucket=bucket)
    settings = SimpleNamespace(s3_endpoint=args.endpoint, s3_region="us-east-1")
    store = S3Store.from_url(f"s3://{bucket}/pic", settings, credentials=(args.access_key, args.secret_key))
    data = os.urandom(args.size)
    n, workers = args.objects, args.concurrency
    results: dict[str, list[tuple[float, float]]] = {"boto3": [], "picstore": []}
    try:
        # Warm-up: connections, RGW's bucket index, Python imports. Not counted.
        run_boto3(client, bucket, "warm/b", data, min(n, 200), workers)
        run_picstore(store, "warm", data, min(n, 200), workers)
        empty(client, bucket)
        for r in range(args.rounds):
            order = ["boto3", "picstore"] if r % 2 == 0 else ["picstore", "boto3"]
            for name in order:
                prefix = f"r{r}/{name}"
                if name == "boto3":
                    put_rate, get_rate = run_boto3(client, bucket, prefix, data, n, workers)
                else:
                    put_rate, get_rate = run_picstore(store, prefix, data, n, workers)
                results[name].append((put_rate, get_rate))
                print(f"round {r + 1} {name:9s} put {put_rate:7.0f}/s  get {get_rate:7.0f}/s", flush=True)
            empty(client, bucket)  # keep the OSD's memory flat between rounds
    finally:
        empty(client, bucket)
        client.delete_bucket(Bucket=bucket)
        if started_here:
            subprocess.run([str(REPO / "scripts" / "rgw.sh"), "stop"], check=False)

    print(f"\n{n} x {args.size // 1024} KiB objects, {workers} in flight, median of {args.rounds} rounds")
    print(f"{'client':10s} {'put obj/s':>10s} {'get obj/s':>10s}")
    med = {
        name: tuple(statistics.median(r[i] for r in rows) for i in (0, 1)) for name, rows in results.items()
    }
    for name, (put_rate, get_rate) in med.items():
        print(f"{name:10s} {put_rate:10.0f} {get_rate:10.0f}")
    put_ratio = med["picstore"][0] / med["boto3"][0]
    get_ratio = med["picstore"][1] / med["boto3"][1]
    print(f"{'ratio':10s} {put_ratio:9.2f}x {get_ratio:9.2f}x   (picstore / boto3; goal >= 1.5x)")


if __name__ == "__main__":
    main()
