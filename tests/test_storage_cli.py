"""`picstore storage`, `migrate`, `verify` and `import` as a person runs them: what they print, exit codes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from picstore.cli import app
from tests.helpers import make_jpeg

runner = CliRunner()


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in list(os.environ):
        if key.startswith("PICSTORE_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("PICSTORE_TARGET_TTL", "0")
    monkeypatch.chdir(tmp_path)


def _seed(tmp_path: Path) -> None:
    assert runner.invoke(app, ["tenant", "create", "acme"]).exit_code == 0
    (tmp_path / "a.jpg").write_bytes(make_jpeg())
    assert runner.invoke(app, ["put", str(tmp_path / "a.jpg"), "-t", "acme"]).exit_code == 0


def test_storage_show_use_migrate_verify(tmp_path: Path) -> None:
    _seed(tmp_path)
    shown = json.loads(runner.invoke(app, ["storage", "show", "--json"]).stdout)
    assert shown["write_target"] == shown["settings"]
    new = (tmp_path / "new").as_uri()

    dry = runner.invoke(app, ["migrate", "--to", new, "--dry-run"])
    assert dry.exit_code == 0 and "dry run:" in dry.output and "would move" in dry.output
    assert (
        json.loads(runner.invoke(app, ["storage", "show", "--json"]).stdout)["write_target"]
        == shown["settings"]
    )

    moved = runner.invoke(app, ["migrate", "--to", new, "--concurrency", "2"])
    assert moved.exit_code == 0, moved.output
    assert (
        "copied" in moved.output and "new uploads go to" in moved.output and "picstore verify" in moved.output
    )
    after = runner.invoke(app, ["storage", "show"])
    assert "the catalog decides" in after.output  # the settings still name the old directory

    checked = runner.invoke(app, ["verify"])
    assert checked.exit_code == 0 and "stores used before can be removed" in checked.output
    again = json.loads(runner.invoke(app, ["migrate", "--to", new, "--json"]).stdout)
    assert again["total"] == 0 and again["copied"] == 0

    back = runner.invoke(app, ["storage", "use", shown["settings"], "--json"])
    assert json.loads(back.stdout)["write_target"] == shown["settings"]
    kept = runner.invoke(app, ["verify"])
    assert kept.exit_code == 0 and "keep " in kept.output and "picstore migrate --to" in kept.output


def test_refusals_are_json_with_codes(tmp_path: Path) -> None:
    assert runner.invoke(app, ["tenant", "create", "acme"]).exit_code == 0  # a store here to refuse in
    bad = runner.invoke(app, ["storage", "use", "ftp://x/y", "--json"])
    assert bad.exit_code == 1 and json.loads(bad.stdout)["code"] == "config_error"
    (tmp_path / "tree").mkdir()
    both = runner.invoke(
        app, ["import", str(tmp_path / "tree"), "-t", "acme", "--tenant-from", "^(x)", "--json"]
    )
    assert both.exit_code == 1 and json.loads(both.stdout)["code"] == "invalid_request"
    neither = runner.invoke(app, ["import", "--json"])
    assert neither.exit_code == 1 and json.loads(neither.stdout)["code"] == "invalid_request"


def test_import_report_lists_refused_files(tmp_path: Path) -> None:
    runner.invoke(app, ["tenant", "create", "acme"])
    tree = tmp_path / "tree" / "sub dir"
    tree.mkdir(parents=True)
    (tree / "ok photo.jpg").write_bytes(make_jpeg())
    (tree / "notes.txt").write_text("not a picture")
    shown = runner.invoke(app, ["import", str(tmp_path / "tree"), "-t", "acme"])
    assert shown.exit_code == 0, shown.output
    assert "1 imported" in shown.output and "1 refused" in shown.output
    assert "refused sub dir/notes.txt (not_an_image)" in shown.output
    data = json.loads(runner.invoke(app, ["import", str(tmp_path / "tree"), "-t", "acme", "--json"]).stdout)
    assert data["imported"] == 0 and data["already_recorded"] == 2
