"""Helpers the HTTP API tests share: an app over a fresh store with two tenants, and a real server."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient

from picstore import ImageStore
from picstore.settings import load_settings
from picstore.web.app import create_app

ADMIN_KEY = "admin-" + "k" * 40


@dataclass
class Api:
    """A TestClient over a file-store app, with tenants ``acme`` and ``globex`` and their keys."""

    client: TestClient
    store: ImageStore
    app: FastAPI
    keys: dict[str, str]

    def auth(self, tenant: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[tenant]}"}

    def upload(
        self,
        tenant: str,
        data: bytes,
        filename: str = "photo.jpg",
        headers: dict[str, str] | None = None,
        **fields: str,
    ) -> httpx.Response:
        return self.client.post(
            "/v1/images",
            files={"file": (filename, data, "image/jpeg")},
            data=fields,
            headers={**self.auth(tenant), **(headers or {})},
        )

    def metric(self, name: str, **labels: str) -> float:
        """The value of one sample on /metrics (0 when absent)."""
        want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        line_start = f"{name}{{{want}}} " if labels else f"{name} "
        for line in self.client.get("/metrics").text.splitlines():
            if line.startswith(line_start):
                return float(line.rsplit(" ", 1)[1])
        return 0.0


def make_image_store(tmp_path: Path, **settings: Any) -> ImageStore:
    """An ImageStore on files under ``tmp_path`` (SQLite catalog unless ``database`` is given)."""
    values: dict[str, Any] = {
        "storage": (tmp_path / "blobs").as_uri(),
        "database": f"sqlite:///{tmp_path / 'catalog.db'}",
        "admin_key": ADMIN_KEY,
    }
    values.update(settings)
    return ImageStore.from_settings(load_settings(**values))


@contextmanager
def api_for(store: ImageStore) -> Iterator[Api]:
    keys = {slug: store.create_tenant(slug)[1] for slug in ("acme", "globex")}
    app = create_app(store)
    with TestClient(app) as client:
        yield Api(client=client, store=store, app=app, keys=keys)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running(app: FastAPI) -> Iterator[str]:
    """Serve ``app`` with a real uvicorn on a free loopback port in a thread; yields the base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
