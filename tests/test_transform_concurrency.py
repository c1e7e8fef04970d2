"""One render per rendition, however many requests arrive together: in one process (a shared task) and
across two ``picstore serve`` processes on PostgreSQL (the claim in the catalog).

Real servers, real HTTP, real database; the render count is what each process reports on /metrics.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from PIL import Image as PILImage

from picstore import ImageStore
from picstore.settings import load_settings
from picstore.web.app import create_app
from tests.helpers import make_jpeg
from tests.http_support import make_image_store, running
from tests.test_two_nodes import _start, _wait_ready

KEY = "c" * 40
CONCURRENCY = 50


def _renders(base: str) -> float:
    total = 0.0
    for line in httpx.get(f"{base}/metrics").text.splitlines():
        if line.startswith("picstore_transform_renders_total{"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def _fetch_all(urls: list[str]) -> list[httpx.Response]:
    """GET every URL at the same moment (the threads wait at a barrier, then all send)."""
    barrier = threading.Barrier(len(urls))

    def fetch(url: str) -> httpx.Response:
        with httpx.Client(timeout=60) as client:
            barrier.wait()
            return client.get(url, headers={"Accept": "image/webp"})

    with ThreadPoolExecutor(len(urls)) as pool:
        return list(pool.map(fetch, urls))


def _check_answers(responses: list[httpx.Response], size: tuple[int, int]) -> None:
    assert [r.status_code for r in responses] == [200] * CONCURRENCY
    bodies = {r.content for r in responses}
    assert len(bodies) == 1
    with PILImage.open(io.BytesIO(bodies.pop())) as img:
        assert (img.format, img.size) == ("WEBP", size)


def test_fifty_concurrent_first_requests_render_once(tmp_path: Path) -> None:
    with make_image_store(tmp_path, transform_keys=[KEY]) as store:
        tenant, _ = store.create_tenant("acme")
        image = store.put(make_jpeg(2000, 1333), tenant)
        app = create_app(store)
        with running(app) as base:
            path = store.transform_url(image.id, width=512, height=512).split("8080", 1)[1]
            responses = _fetch_all([base + path] * CONCURRENCY)
            _check_answers(responses, (512, 341))
            assert _renders(base) == 1
            assert store.transforms.renders == 1


def _serve(env: dict[str, str], cwd: Path) -> tuple[subprocess.Popen[str], str]:
    proc, base = _start(env, cwd)
    _wait_ready(proc, base)
    return proc, base


@pytest.fixture
def two_nodes(pg_url: str, tmp_path: Path) -> Iterator[tuple[ImageStore, list[str]]]:
    """Two serve processes on one PostgreSQL catalog and one blob directory, and a store beside them."""
    settings = {
        "PICSTORE_STORAGE": (tmp_path / "blobs").as_uri(),
        "PICSTORE_DATABASE": pg_url,
        "PICSTORE_TRANSFORM_KEYS": json.dumps([KEY]),
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("PICSTORE_")} | settings
    store = ImageStore.from_settings(
        load_settings(storage=settings["PICSTORE_STORAGE"], database=pg_url, transform_keys=[KEY])
    )
    with ExitStack() as stack:
        stack.callback(store.close)
        bases = []
        for _ in range(2):
            proc, base = _serve(env, tmp_path)
            stack.callback(proc.wait, 10)
            stack.callback(proc.terminate)
            bases.append(base)
        yield store, bases


@pytest.mark.postgres
def test_fifty_concurrent_first_requests_across_two_processes_render_once(
    two_nodes: tuple[ImageStore, list[str]],
) -> None:
    store, bases = two_nodes
    tenant, _ = store.create_tenant("acme")
    image = store.put(make_jpeg(3000, 2000), tenant)
    for base in bases:  # both processes warm (libvips loaded, connections open) before the burst
        warm = store.transform_url(image.id, width=32, format="webp").split("8080", 1)[1]
        assert httpx.get(base + warm, timeout=30).status_code == 200
    renders_before = sum(_renders(base) for base in bases)
    # Large enough that the render is still running when the other process's requests arrive.
    path = store.transform_url(image.id, width=1600, height=1600, fit="cover").split("8080", 1)[1]
    responses = _fetch_all([bases[i % 2] + path for i in range(CONCURRENCY)])
    _check_answers(responses, (1600, 1600))
    assert sum(_renders(base) for base in bases) - renders_before == 1
