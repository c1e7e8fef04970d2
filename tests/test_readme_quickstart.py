"""The README's "From zero to a picture on a page", followed as written: serve, tenant, put, then the URL
that put printed loads as a picture from the `picstore serve` started first."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.cli_run import child_env, picstore
from tests.helpers import make_jpeg

README = Path(__file__).resolve().parents[1] / "README.md"


def _section() -> str:
    text = README.read_text()
    start = text.index("## From zero to a picture on a page")
    return text[start : text.index("\n## ", start + 1)]


def _commands(section: str) -> list[tuple[list[str], str | None]]:
    """The `.venv/bin/picstore ...` lines of its shell blocks, each with the output comment under it."""
    lines = [line for block in re.findall(r"```sh\n(.*?)```", section, re.S) for line in block.splitlines()]
    found: list[tuple[list[str], str | None]] = []
    for i, line in enumerate(lines):
        if line.startswith(".venv/bin/picstore "):
            command = line.split("#", 1)[0].split()[1:]
            following = lines[i + 1] if i + 1 < len(lines) else ""
            found.append((command, following[2:] if following.startswith("# ") else None))
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_readme_path_ends_in_a_picture(tmp_path: Path) -> None:
    section = _section()
    assert "scripts/serve.sh" in section and "<img src=" in section
    commands = _commands(section)
    assert [command[:1] for command, _ in commands] == [["tenant"], ["put"]]
    port = str(_free_port())
    server = subprocess.Popen(
        [sys.executable, "-m", "picstore", "serve", "--port", port],
        cwd=tmp_path,
        env=child_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, "picstore serve did not start"
            time.sleep(0.2)
        (tmp_path / "shop-front.jpg").write_bytes(make_jpeg(320, 200))
        for command, expected in commands:
            args = [str(tmp_path / "shop-front.jpg") if a.startswith("~/") else a for a in command]
            result = picstore(*args, cwd=tmp_path, PICSTORE_PORT=port)
            assert result.code == 0, result.stderr
            if expected is not None:
                # The README's example line, with its own values, has the shape of what was printed.
                shape = (
                    r"[a-z0-9]+ jpeg \d+x\d+ http://127\.0\.0\.1:\d+/b/img/[0-9a-f]{2}/[0-9a-f]{2}/\S+\.jpg"
                )
                assert re.fullmatch(shape, expected.replace("...", "0" * 8))
                (printed,) = result.lines
                assert re.fullmatch(shape, printed)
                url = printed.split(" ")[3]
        picture = httpx.get(url, timeout=10)
        assert picture.status_code == 200 and picture.headers["content-type"] == "image/jpeg"
        assert picture.content[:3] == b"\xff\xd8\xff"
    finally:
        server.terminate()
        server.wait(timeout=30)
    # The store is where the section says it is.
    assert (tmp_path / "picstore-data" / "picstore.db").is_file()
    assert "new store in " + str(tmp_path / "picstore-data") in (
        server.stderr.read() if server.stderr else ""
    )
