"""Browser tests: Playwright driving Debian's Chromium against a live picstore on 127.0.0.1.

- Chromium comes from Debian (``scripts/browser.sh install``, run by ``scripts/test.sh`` as root); the
  Playwright package's own browser download is never used. Missing Chromium skips these tests, and fails
  them under ``CI``.
- Chromium resolves no host but loopback (``--host-resolver-rules``): a page that needs another host
  breaks here as it would offline.
- Each test gets a fresh store and server (file store + SQLite, or Ceph RGW through ``s3_site``).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
IN_CI = bool(os.environ.get("CI"))
ADMIN_KEY = "admin-key-for-browser-tests"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-domain-reliability",
    "--no-pings",
    # One element: Chromium reaches loopback only, even for its own background lookups.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost",
]


def _chromium() -> str | None:
    found = subprocess.run(
        [str(REPO / "scripts" / "browser.sh"), "path"], capture_output=True, text=True, check=False
    )
    return found.stdout.strip() or None


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """pytest-playwright's launch arguments, pointed at Debian's Chromium with the flags above."""
    path = _chromium()
    if path is None:
        message = "Chromium is missing: run scripts/browser.sh install (as root) or apt-get install chromium"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return {**browser_type_launch_args, "executable_path": path, "args": CHROMIUM_ARGS}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Site:
    """A live picstore: its URL, its store, and a tenant ready to sign in."""

    url: str
    store: Any
    api_key: str
    slug: str = "acme"
    others: dict[str, str] = field(default_factory=dict)


class LiveServer:
    """uvicorn serving ``create_app(store)`` in a thread, as ``picstore serve`` does (or ``app``, an
    application that mounts it)."""

    def __init__(self, store: Any, port: int, app: Any = None) -> None:
        import uvicorn

        from picstore.web.app import create_app

        config = uvicorn.Config(
            app or create_app(store), host="127.0.0.1", port=port, log_level="warning", access_log=False
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def start_site(tmp_path: Path, storage: Any = None, **settings: Any) -> Iterator[Site]:
    """A live picstore with tenants ``acme`` and ``rival``; ``storage`` is a blob store (or its URL)."""
    from picstore import ImageStore
    from picstore.settings import load_settings

    port = free_port()
    config = load_settings(
        storage=storage if isinstance(storage, str) else (tmp_path / "blobs").as_uri(),
        database=f"sqlite:///{tmp_path / 'catalog.db'}",
        public_url=f"http://127.0.0.1:{port}",
        admin_key=ADMIN_KEY,
        **settings,
    )
    with ImageStore(None if isinstance(storage, str) else storage, settings=config) as store:
        _, key = store.create_tenant("acme", "Acme Holiday Flats")
        _, other_key = store.create_tenant("rival", "Rival Rooms")
        with LiveServer(store, port):
            yield Site(url=f"http://127.0.0.1:{port}", store=store, api_key=key, others={"rival": other_key})


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    """picstore on the file store, served on 127.0.0.1."""
    yield from start_site(tmp_path)


@pytest.fixture
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "viewport": {"width": 1280, "height": 900}}


def sign_in(page: Any, site: Site, api_key: str | None = None) -> None:
    """Sign in through /login with an API key and land on the dashboard."""
    page.goto(site.url + "/login")
    page.get_by_label("Your API key").fill(api_key or site.api_key)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r".*/dashboard$"))
