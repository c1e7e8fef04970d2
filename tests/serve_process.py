"""A bare ``picstore serve`` in a subprocess on 127.0.0.1, for tests that need the real server: its own
event loop, protocol guard, limits and memory, measured from outside."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.http_support import free_port


@dataclass
class ServeProcess:
    base: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    def rss_mib(self) -> float:
        """The server's resident memory now, in MiB (Linux /proc)."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise AssertionError("no VmRSS")  # pragma: no cover - Linux always has it

    def connect(self, timeout: float = 10) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=timeout)

    def healthy(self) -> bool:
        return httpx.get(f"{self.base}/healthz", timeout=30).status_code == 200


@contextmanager
def picstore_serve(root: Path, **settings: object) -> Iterator[ServeProcess]:
    """``python -m picstore serve`` on files and SQLite under ``root``, configured by ``PICSTORE_*``
    variables from ``settings`` (JSON for dicts and lists); stopped (SIGTERM) afterwards."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PICSTORE_")}
    env.update(
        PICSTORE_STORAGE=(root / "blobs").as_uri(),
        PICSTORE_DATABASE=f"sqlite:///{root / 'catalog.db'}",
        PICSTORE_PORT=str(port),
    )
    for name, value in settings.items():
        env[f"PICSTORE_{name.upper()}"] = json.dumps(value) if isinstance(value, dict | list) else str(value)
    log = root / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "picstore", "serve"], env=env, stdout=out, stderr=out)
    served = ServeProcess(f"http://127.0.0.1:{port}", port, proc, log)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if served.healthy():
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"picstore serve did not start: {log.read_text()[-2000:]}")
            time.sleep(0.1)
        yield served
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:  # pragma: no cover - only when shutdown hangs
            proc.kill()
            proc.wait(5)
