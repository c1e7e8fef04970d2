"""``picstore sign``: the URL it prints is the one the server renders; bad specs exit 1 with a code."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import pytest
from PIL import Image as PILImage
from typer.testing import CliRunner

from picstore.cli import app
from tests.helpers import make_jpeg
from tests.http_support import api_for, make_image_store

runner = CliRunner()
KEY = "cli" * 14


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("PICSTORE_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PICSTORE_TRANSFORM_KEYS", json.dumps([KEY]))
    monkeypatch.setenv("PICSTORE_TRANSFORM_PRESETS", json.dumps({"square": "w=120,h=120,fit=cover"}))


def test_the_signed_url_renders(tmp_path: Path) -> None:
    store = make_image_store(tmp_path, transform_keys=[KEY])
    with store, api_for(store) as api:
        image_id = api.upload("acme", make_jpeg(400, 300)).json()["id"]
        for spec, size in (("w=200,h=100,fit=cover,f=png", (200, 100)), ("square", (120, 120))):
            result = runner.invoke(app, ["sign", image_id, spec, "--json"])
            assert result.exit_code == 0, result.output
            printed = json.loads(result.output)
            response = api.client.get(printed["path"])
            assert response.status_code == 200, response.text
            with PILImage.open(io.BytesIO(response.content)) as img:
                assert img.size == size


def test_expiry_is_part_of_the_signed_spec() -> None:
    result = runner.invoke(app, ["sign", "abc", "w=100", "--expires-in", "60", "--json"])
    assert result.exit_code == 0, result.output
    spec = json.loads(result.output)["spec"]
    expires = int(spec.split("exp=")[1])
    assert spec.startswith("w=100,exp=") and time.time() < expires <= time.time() + 61


@pytest.mark.parametrize(
    ("spec", "code"),
    [
        ("h=5,w=100", "non_canonical_transform"),
        ("w=0", "invalid_transform"),
        ("nosuchpreset", "invalid_transform"),
    ],
)
def test_refusals_exit_1_with_a_code(spec: str, code: str) -> None:
    result = runner.invoke(app, ["sign", "abc", spec, "--json"])
    assert result.exit_code == 1
    assert json.loads(result.output)["code"] == code


def test_without_keys_signing_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PICSTORE_TRANSFORM_KEYS")
    result = runner.invoke(app, ["sign", "abc", "w=100", "--json"])
    assert result.exit_code == 1
    assert json.loads(result.output)["code"] == "transforms_disabled"
