"""A real S3 server for the tests: Ceph RGW on 127.0.0.1, reused when running, else started here.

- ``RGW_ENDPOINT`` (default ``http://127.0.0.1:7480``): used as is when it answers.
- Otherwise ``scripts/rgw.sh start`` runs (and ``install`` first when Ceph is missing and we are root);
  a cluster started here is stopped at the end of the session unless ``RGW_KEEP=1``.
- Without RGW the tests skip with the reason, except under ``CI`` where they fail.
- ``S3_ACCESS_KEY`` / ``S3_SECRET_KEY`` (default ``test`` / ``testsecret``): the S3 user.

Every session works in a fresh bucket (``picstore-test-<random>``), removed at the end.

``PICSTORE_S3_FAULTS=RATE[:SEED]`` (e.g. ``0.03`` or ``0.03:7``) runs the tier through the fault proxy
(tests/faultproxy.py): picstore's S3 client (obstore, told apart by its User-Agent) reaches RGW through a
proxy that gives each of its requests, with probability RATE, a 503 SlowDown, a reset before or after the
backend commits, a truncated body or up to 0.3 s of latency. Every test must still pass and
``test_s3_fault_soak.py`` checks that nothing was lost. ``RGW.endpoint`` is then the proxy; ``RGW.client()``
and ``RGW.address`` still reach RGW itself, so a test checks what is really stored. The faults given are
summed up at the end of the run, with the seed that repeats them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from picstore.blobs.s3 import RetryPolicy, S3Store
from tests.faultproxy import FaultProxy

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "rgw.sh"
IN_CI = bool(os.environ.get("CI"))
#: Retries that give up in well under a second, so fault tests stay fast.
FAST_RETRY = RetryPolicy(max_retries=3, initial_backoff=0.01, max_backoff=0.05, retry_timeout=5, timeout=20)


@dataclass(frozen=True)
class RGW:
    """Where the test S3 server is and who to be on it."""

    #: What picstore talks to: the server, or under PICSTORE_S3_FAULTS the fault proxy in front of it.
    endpoint: str
    access_key: str
    secret_key: str
    region: str = "us-east-1"
    #: The S3 server itself, when ``endpoint`` is a proxy.
    server: str | None = None

    @property
    def direct(self) -> str:
        """The S3 server's own endpoint, past any proxy: for checking what is really stored."""
        return self.server or self.endpoint

    @property
    def address(self) -> tuple[str, int]:
        """Host and port of the S3 server itself (never the proxy)."""
        parts = urlsplit(self.direct)
        return parts.hostname or "127.0.0.1", parts.port or 80

    def env(self) -> dict[str, str]:
        """The standard AWS variables that point any S3 client at this server."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_REGION": self.region,
        }

    def client(self) -> Any:
        """A boto3 client, for checking from outside what picstore did."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.direct,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=self.region,
            config=Config(request_checksum_calculation="when_required", s3={"addressing_style": "path"}),
        )


def _answers(endpoint: str) -> bool:
    # An S3 server, not just anything on that address (a proxy may answer for any host): every S3
    # answer carries a request id.
    try:
        return "x-amz-request-id" in httpx.get(endpoint + "/", timeout=2).headers
    except httpx.HTTPError:
        return False


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"Ceph RGW is required under CI but {reason}")
    pytest.skip(f"no S3 server: {reason}")


def _run(*args: str, timeout: float, env: dict[str, str]) -> None:
    try:
        proc = subprocess.run(
            [str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout, env=env, check=False
        )
    except subprocess.TimeoutExpired:
        _unavailable(f"`scripts/rgw.sh {' '.join(args)}` took longer than {timeout:.0f} s")
        return
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        _unavailable(f"`scripts/rgw.sh {' '.join(args)}` failed (exit {proc.returncode}):\n{tail}")


#: The agent whose requests the fault proxy troubles: picstore's S3 client (the Rust object_store crate).
PICSTORE_AGENT = "object_store/"
#: What the faulty tier's proxy has done, for the summary at the end of the run.
FAULT_RUNS: list[tuple[str, FaultProxy]] = []


def _fault_setting() -> tuple[float, int] | None:
    value = os.environ.get("PICSTORE_S3_FAULTS", "").strip()
    if not value:
        return None
    rate, _, seed = value.partition(":")
    try:
        return float(rate), int(seed) if seed else int.from_bytes(os.urandom(2), "big")
    except ValueError:
        raise pytest.UsageError(
            f"PICSTORE_S3_FAULTS={value!r}: use RATE[:SEED], e.g. 0.03 or 0.03:7"
        ) from None


@pytest.fixture(scope="session")
def rgw() -> Iterator[RGW]:
    """A running Ceph RGW (see the module docstring), behind the fault proxy under PICSTORE_S3_FAULTS."""
    faults = _fault_setting()
    with _rgw() as server:
        if faults is None:
            yield server
            return
        rate, seed = faults
        with FaultProxy(server.address) as proxy:
            proxy.sprinkle(rate, agent=PICSTORE_AGENT, seed=seed, seconds=0.3)
            FAULT_RUNS.append((f"PICSTORE_S3_FAULTS={rate}:{seed}", proxy))
            yield replace(server, endpoint=proxy.url, server=server.endpoint)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for setting, proxy in FAULT_RUNS:
        log = proxy.requests()
        given: dict[str, int] = {}
        for _, _, fault, _ in log:
            given[fault] = given.get(fault, 0) + 1
        shown = ", ".join(f"{name} {count}" for name, count in sorted(given.items()))
        terminalreporter.write_line(f"S3 fault proxy ({setting}): {len(log)} requests: {shown}")


@contextlib.contextmanager
def _rgw() -> Iterator[RGW]:
    server = RGW(
        endpoint=os.environ.get("RGW_ENDPOINT", "http://127.0.0.1:7480").rstrip("/"),
        access_key=os.environ.get("S3_ACCESS_KEY", "test"),
        secret_key=os.environ.get("S3_SECRET_KEY", "testsecret"),
    )
    if _answers(server.endpoint):
        yield server
        return
    host, port = server.address
    if host not in ("127.0.0.1", "localhost"):
        _unavailable(f"{server.endpoint} does not answer (and only a loopback RGW can be started here)")
    env = dict(os.environ, RGW_PORT=str(port))
    if shutil.which("radosgw") is None:
        if os.geteuid() != 0 or shutil.which("apt-get") is None:
            _unavailable("Ceph is not installed; run `sudo scripts/rgw.sh install`")
        _run("install", timeout=900, env=env)
    started = time.monotonic()
    _run("start", timeout=400, env=env)
    if not _answers(server.endpoint):
        _unavailable(f"scripts/rgw.sh start finished but {server.endpoint} does not answer")
    print(f"\nstarted Ceph RGW at {server.endpoint} in {time.monotonic() - started:.1f} s")
    yield server
    if os.environ.get("RGW_KEEP") != "1":
        subprocess.run([str(SCRIPT), "stop"], env=env, capture_output=True, timeout=120, check=False)


@pytest.fixture(scope="session")
def bucket(rgw: RGW) -> Iterator[str]:
    """A fresh bucket for this test session; emptied and removed at the end."""
    name = f"picstore-test-{uuid.uuid4().hex[:12]}"
    client = rgw.client()
    client.create_bucket(Bucket=name)
    yield name
    paginator = client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=name):
        keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if keys:
            client.delete_objects(Bucket=name, Delete={"Objects": keys, "Quiet": True})
    client.delete_bucket(Bucket=name)


def s3_settings(**overrides: Any) -> SimpleNamespace:
    """An object shaped like picstore's Settings, with only the S3 fields."""
    fields: dict[str, Any] = {
        "s3_endpoint": None,
        "s3_region": "us-east-1",
        "s3_path_style": None,
        "s3_public_url": None,
        "s3_presign": False,
        "s3_presign_ttl": 3600,
    }
    fields.update(overrides)
    return SimpleNamespace(**fields)


StoreFactory = Callable[..., S3Store]


@pytest.fixture
def make_s3_store(rgw: RGW, bucket: str) -> StoreFactory:
    """An S3Store on the session bucket: ``make_s3_store(prefix, endpoint=..., retry=..., **settings)``."""

    def make(
        prefix: str = "", *, endpoint: str | None = None, retry: RetryPolicy | None = None, **settings: Any
    ) -> S3Store:
        url = f"s3://{bucket}/{prefix}".rstrip("/")
        config = s3_settings(s3_endpoint=endpoint or rgw.endpoint, **settings)
        return S3Store.from_url(url, config, credentials=(rgw.access_key, rgw.secret_key), retry=retry)

    return make


@pytest.fixture
def prefix() -> str:
    """A fresh key prefix for one test."""
    return f"t/{uuid.uuid4().hex[:16]}/"
