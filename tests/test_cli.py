"""The picstore command: help, JSON output, exit codes, refusals."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from picstore.cli import app
from tests.helpers import make_jpeg

runner = CliRunner()


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("PICSTORE_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


def _command_paths() -> list[list[str]]:
    """Every command and sub-command of the app, found by walking it (so new ones are covered too)."""
    from typer.main import get_command

    paths: list[list[str]] = []

    def walk(cmd: Any, path: list[str]) -> None:
        paths.append(path)
        for name, sub in getattr(cmd, "commands", {}).items():
            walk(sub, [*path, name])

    walk(get_command(app), [])
    return paths


COMMANDS = _command_paths()


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "picstore")
def test_every_command_has_help(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output
    # Every option documents itself.
    for line in result.output.splitlines():
        if line.strip().startswith("│ --") and "--help" not in line:
            assert len(line.split("  ")) > 2, line


def test_tenant_put_ls_get_rm(tmp_path: Path) -> None:
    created = runner.invoke(app, ["tenant", "create", "acme", "--name", "Acme", "--json"])
    assert created.exit_code == 0, created.output
    assert json.loads(created.stdout)["api_key"].startswith("psk_")
    (tmp_path / "a.jpg").write_bytes(make_jpeg())
    put = runner.invoke(app, ["put", "a.jpg", "--tenant", "acme", "--json"])
    assert put.exit_code == 0, put.output
    image = json.loads(put.stdout)
    assert {"id", "tenant", "format", "width", "height", "bytes", "sha256", "url", "variants"} <= set(image)
    listed = json.loads(runner.invoke(app, ["ls", "--tenant", "acme", "--json"]).stdout)
    assert [i["id"] for i in listed["items"]] == [image["id"]]
    assert runner.invoke(app, ["get", image["id"], "-o", "out.jpg"]).exit_code == 0
    assert len((tmp_path / "out.jpg").read_bytes()) == image["bytes"]
    assert runner.invoke(app, ["rm", image["id"]]).exit_code == 0
    missing = runner.invoke(app, ["get", image["id"], "-o", "out2.jpg"])
    assert missing.exit_code == 1 and "not_found" in missing.output
    tenants = json.loads(runner.invoke(app, ["tenant", "list", "--json"]).stdout)
    assert [t["tenant"] for t in tenants] == ["acme"]


def test_put_refusal_prints_code_and_exits_1(tmp_path: Path) -> None:
    runner.invoke(app, ["tenant", "create", "acme"])
    (tmp_path / "evil.jpg").write_bytes(b"<?php system($_GET['c']); ?>")
    result = runner.invoke(app, ["put", "evil.jpg", "--tenant", "acme", "--json"])
    assert result.exit_code == 1
    body = json.loads(result.stdout)
    assert set(body) == {"code", "message"} and body["code"] == "not_an_image"
    assert json.loads(runner.invoke(app, ["ls", "--tenant", "acme", "--json"]).stdout)["items"] == []


def test_validate_json_lines_and_exit_code(tmp_path: Path) -> None:
    (tmp_path / "ok.jpg").write_bytes(make_jpeg())
    (tmp_path / "bad.jpg").write_bytes(b"PK\x03\x04 not an image")
    ok = runner.invoke(app, ["validate", "ok.jpg", "--json"])
    assert ok.exit_code == 0
    row = json.loads(ok.stdout)
    assert row["accepted"] is True and row["format"] == "jpeg" and row["code"] is None
    both = runner.invoke(app, ["validate", "ok.jpg", "bad.jpg", "--json"])
    assert both.exit_code == 1
    rows = [json.loads(line) for line in both.stdout.splitlines()]
    assert set(rows[0]) == {"file", "accepted", "code", "message", "format", "width", "height", "frames"}
    assert [r["accepted"] for r in rows] == [True, False]
    assert rows[1]["code"] == "not_an_image"


def test_bad_config_says_what_to_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PICSTORE_STORAGE", "ftp://nope")
    result = runner.invoke(app, ["tenant", "list"])
    assert result.exit_code == 1
    assert "config_error" in result.output and "file://" in result.output


def test_db_upgrade() -> None:
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0
    from picstore.catalog.engine import head_revision

    assert f"revision {head_revision()}" in result.output


def test_s3_setup_refuses_a_local_store() -> None:
    result = runner.invoke(app, ["s3", "setup", "--json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["code"] == "config_error"
