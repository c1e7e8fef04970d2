"""The picstore command as scripts use it: stdout piped, COLUMNS=40, output parsed; refusals, exit codes."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from tests.cli_run import Result, child_env, picstore
from tests.helpers import make_jpeg

LONG_NAME = "a photo of the shop front with a rather long file name.jpg"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A working directory holding a store with the tenant ``acme``."""
    created = picstore("tenant", "create", "acme", "--name", "Acme Bakery", cwd=tmp_path)
    assert created.code == 0, created.stderr
    assert created.lines[0].startswith("psk_") and len(created.lines) == 1
    return tmp_path


def _one_line_error(result: Result, code: str) -> str:
    assert result.code == 1
    assert result.stdout == ""
    assert len(result.messages) == 1, result.stderr
    assert result.messages[0].startswith(f"error ({code}): ")
    return result.messages[0]


def test_put_ls_get_rm_piped_at_40_columns(home: Path) -> None:
    (home / LONG_NAME).write_bytes(make_jpeg(64, 48))
    (home / "b.jpg").write_bytes(make_jpeg(32, 32, (0, 0, 200)))
    put = picstore("put", LONG_NAME, "--tenant", "acme", cwd=home)
    assert put.code == 0, put.stderr
    # One line, whole: "ID FORMAT WxH URL", the URL not split however narrow the terminal.
    assert len(put.lines) == 1
    image_id, fmt, size, url = put.lines[0].split(" ")
    assert (fmt, size) == ("jpeg", "64x48")
    assert url.startswith("http://127.0.0.1:8080/b/img/") and url.endswith(".jpg")
    second = picstore("put", "b.jpg", "-t", "acme", "--json", cwd=home).json()

    listed = picstore("ls", "--tenant", "acme", cwd=home)
    assert listed.code == 0 and listed.stderr == ""
    rows = [row.split("\t") for row in listed.lines]
    # Tab-separated, no header, ids whole (a 40-column table would have cut them).
    assert [r[0] for r in rows] == [second["id"], image_id]
    assert rows[1][1:5] == ["jpeg", "64x48", str(rows[1][3]), LONG_NAME]
    assert int(rows[1][3]) > 0

    # Pages: the next page's command is printed whole on stderr and works as printed.
    first = picstore("ls", "--tenant", "acme", "--limit", "1", cwd=home)
    assert [r.split("\t")[0] for r in first.lines] == [second["id"]]
    (hint,) = first.messages
    assert hint.startswith("more: picstore ls --tenant acme --cursor ")
    rest = picstore(*hint.removeprefix("more: picstore ").split(" "), cwd=home)
    assert [r.split("\t")[0] for r in rest.lines] == [image_id] and rest.stderr == ""

    got = picstore("get", rows[1][0], "-o", "out.jpg", "--json", cwd=home)
    assert got.code == 0, got.stderr
    assert got.json() == {
        "id": image_id,
        "variant": None,
        "format": None,
        "bytes": int(rows[1][3]),
        "file": "out.jpg",
    }
    assert (home / "out.jpg").stat().st_size == int(rows[1][3])
    thumb = picstore("get", image_id, "-o", "t.webp", "--variant", "thumb", "--format", "webp", cwd=home)
    assert thumb.code == 0 and (home / "t.webp").read_bytes()[8:12] == b"WEBP"

    removed = picstore("rm", image_id, "--json", cwd=home)
    assert removed.json() == {"deleted": image_id}
    assert _one_line_error(picstore("get", image_id, "-o", "x.jpg", cwd=home), "not_found")
    assert picstore("tenant", "list", cwd=home).lines[0].split("\t")[:2] == ["acme", "Acme Bakery"]
    assert [t["tenant"] for t in picstore("tenant", "list", "--json", cwd=home).json()] == ["acme"]


def _on_a_terminal(*args: str, cwd: Path, columns: int) -> str:
    """What ``picstore ARGS`` shows on a terminal ``columns`` wide (a pseudo-terminal), colours removed."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "picstore", *args],
        cwd=cwd,
        stdout=slave,
        stderr=subprocess.DEVNULL,
        env=child_env(COLUMNS=str(columns)),
    )
    os.close(slave)
    shown = b""
    with contextlib.suppress(OSError):  # EIO once the child has closed the terminal
        while chunk := os.read(master, 65536):
            shown += chunk
    os.close(master)
    assert proc.wait(timeout=60) == 0
    return re.sub(r"\x1b\[[0-9;]*m", "", shown.decode()).replace("\r\n", "\n")


def test_ids_are_whole_on_a_terminal_too(home: Path) -> None:
    (home / "a.jpg").write_bytes(make_jpeg())
    image_id = picstore("put", "a.jpg", "--tenant", "acme", "--json", cwd=home).json()["id"]
    # Wide enough: a table, the id in it whole.
    wide = _on_a_terminal("ls", "--tenant", "acme", cwd=home, columns=160)
    assert "┃ id " in wide and f"│ {image_id} │" in wide
    # Too narrow for the table: the rows as lines, rather than a table squeezed into cut columns.
    narrow = _on_a_terminal("ls", "--tenant", "acme", cwd=home, columns=40)
    assert narrow.splitlines()[0].split("\t")[:3] == [image_id, "jpeg", "64x48"]


def test_put_json_describes_the_image(home: Path) -> None:
    (home / "a.jpg").write_bytes(make_jpeg())
    image = picstore("put", "a.jpg", "--tenant", "acme", "--json", cwd=home).json()
    assert {"id", "tenant", "format", "width", "height", "bytes", "sha256", "url", "variants"} <= set(image)
    listed = picstore("ls", "--tenant", "acme", "--json", cwd=home).json()
    assert [i["id"] for i in listed["items"]] == [image["id"]] and listed["next_cursor"] is None


def test_refusals_are_code_and_message_with_exit_1(home: Path) -> None:
    (home / "evil.jpg").write_bytes(b"<?php system($_GET['c']); ?>")
    refused = picstore("put", "evil.jpg", "--tenant", "acme", "--json", cwd=home)
    assert refused.code == 1
    body = refused.json()
    assert set(body) == {"code", "message"} and body["code"] == "not_an_image"
    _one_line_error(picstore("put", "evil.jpg", "--tenant", "acme", cwd=home), "not_an_image")
    assert picstore("ls", "--tenant", "acme", cwd=home).lines == []


@pytest.mark.parametrize(
    "args",
    [
        ["put", "missing.jpg", "--tenant", "acme"],
        ["ls", "--tenant", "acme", "--limit", "0"],
        ["validate", "--no-such-option", "x.jpg"],
    ],
    ids=["missing-file", "out-of-range", "unknown-option"],
)
def test_usage_errors_exit_1_with_a_code(tmp_path: Path, args: list[str]) -> None:
    as_json = picstore(*args, "--json", cwd=tmp_path)
    assert as_json.code == 1
    body = as_json.json()
    assert set(body) == {"code", "message"} and body["code"] == "usage_error"
    assert f"picstore {args[0]} --help" in body["message"]


def test_usage_error_without_json_is_one_line(tmp_path: Path) -> None:
    message = _one_line_error(picstore("put", "missing.jpg", "--tenant", "acme", cwd=tmp_path), "usage_error")
    assert "'missing.jpg' does not exist" in message and "╭" not in message


def test_a_long_message_is_one_line(tmp_path: Path) -> None:
    # Much longer than 40 columns, with a path and a command in it: still one line, nothing split.
    message = _one_line_error(picstore("ls", "--tenant", "acme", cwd=tmp_path), "store_not_found")
    assert str(tmp_path / "picstore-data") in message and "`picstore tenant create`" in message
    as_json = picstore("ls", "--tenant", "acme", "--json", cwd=tmp_path)
    assert as_json.code == 1 and as_json.json()["code"] == "store_not_found"


def test_the_default_store_is_never_used_silently(tmp_path: Path) -> None:
    there = tmp_path / "project"
    elsewhere = tmp_path / "elsewhere"
    there.mkdir()
    elsewhere.mkdir()
    # Reading commands refuse where there is no store, and create nothing.
    for args in (["ls", "-t", "acme"], ["verify"]):
        result = picstore(*args, "--json", cwd=there)
        assert result.code == 1 and result.json()["code"] == "store_not_found", args
    assert list(there.iterdir()) == []
    # Creating one says where, with the absolute path.
    created = picstore("tenant", "create", "acme", "--json", cwd=there)
    assert created.code == 0
    assert created.messages == [
        f"new store in {there / 'picstore-data'} (the default, ./picstore-data under the working directory; "
        "set PICSTORE_STORAGE and PICSTORE_DATABASE to keep it elsewhere)"
    ]
    assert picstore("tenant", "list", cwd=there).lines[0].startswith("acme\t")
    # From another directory: a refusal naming where it looked, not an empty answer.
    assert picstore("tenant", "list", "--json", cwd=elsewhere).json()["code"] == "store_not_found"
    # Pointed at the store, any directory works.
    data = there / "picstore-data"
    pointed = picstore(
        "tenant",
        "list",
        "--json",
        cwd=elsewhere,
        PICSTORE_STORAGE=(data / "blobs").as_uri(),
        PICSTORE_DATABASE=f"sqlite:///{data / 'picstore.db'}",
    )
    assert [t["tenant"] for t in pointed.json()] == ["acme"]


def test_validate_lines_and_json(tmp_path: Path) -> None:
    (tmp_path / "ok.jpg").write_bytes(make_jpeg())
    (tmp_path / "bad.jpg").write_bytes(b"PK\x03\x04 not an image")
    ok = picstore("validate", "ok.jpg", "--json", cwd=tmp_path)
    assert ok.code == 0
    row = ok.json()
    assert row["accepted"] is True and row["format"] == "jpeg" and row["code"] is None
    both = picstore("validate", "ok.jpg", "bad.jpg", "--json", cwd=tmp_path)
    assert both.code == 1
    rows = [json.loads(line) for line in both.lines]
    assert set(rows[0]) == {"file", "accepted", "code", "message", "format", "width", "height", "frames"}
    assert [r["accepted"] for r in rows] == [True, False] and rows[1]["code"] == "not_an_image"
    plain = picstore("validate", "ok.jpg", "bad.jpg", cwd=tmp_path)
    assert plain.stderr == ""  # no progress bar drawn into a pipe
    assert [line.split("\t")[:2] for line in plain.lines] == [["ok", "ok.jpg"], ["refused", "bad.jpg"]]
    assert plain.lines[1].split("\t")[2].startswith("not_an_image: ")


def test_bad_config_says_what_to_fix(tmp_path: Path) -> None:
    message = _one_line_error(
        picstore("tenant", "create", "acme", cwd=tmp_path, PICSTORE_STORAGE="ftp://nope"), "config_error"
    )
    assert "file://" in message


def test_db_upgrade(tmp_path: Path) -> None:
    from picstore.catalog.engine import head_revision

    result = picstore("db", "upgrade", "--json", cwd=tmp_path)
    assert result.code == 0, result.stderr
    assert result.json()["revision"] == head_revision()
    assert (tmp_path / "picstore-data" / "picstore.db").is_file()


def test_s3_setup_refuses_a_local_store(tmp_path: Path) -> None:
    result = picstore("s3", "setup", "--json", cwd=tmp_path)
    assert result.code == 1
    assert result.json()["code"] == "config_error"
