"""``picstore tenant link``: the URL alone on stdout, a link that works once; refusals as JSON."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from picstore import ImageStore
from picstore.settings import load_settings
from tests.helpers import run_picstore


def _picstore(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PICSTORE_")}
    env |= {"PICSTORE_PUBLIC_URL": "https://pics.example.com", "COLUMNS": "40"}
    result: subprocess.CompletedProcess[str] = run_picstore(tmp_path, env, *args)
    return result


def test_tenant_link_prints_a_url_that_works_once(tmp_path: Path) -> None:
    assert _picstore(tmp_path, "tenant", "create", "acme").returncode == 0
    printed = _picstore(tmp_path, "tenant", "link", "acme", "--ttl", "15m")
    assert printed.returncode == 0, printed.stderr
    (url,) = printed.stdout.splitlines()  # the URL alone, whole, even at 40 columns and piped
    assert url.startswith("https://pics.example.com/login/link/psl_")
    data = tmp_path / "picstore-data"
    settings = load_settings(storage=(data / "blobs").as_uri(), database=f"sqlite:///{data / 'picstore.db'}")
    with ImageStore.from_settings(settings) as store:
        token = url.rsplit("/", 1)[1]
        first = store.access.redeem_link(token)
        assert first is not None and first.slug == "acme"
        assert store.access.redeem_link(token) is None


def test_tenant_link_refusals(tmp_path: Path) -> None:
    assert _picstore(tmp_path, "tenant", "create", "acme").returncode == 0
    bad_ttl = _picstore(tmp_path, "tenant", "link", "acme", "--ttl", "2y", "--json")
    assert bad_ttl.returncode == 1
    assert json.loads(bad_ttl.stdout)["code"] == "invalid_request"
    unknown = _picstore(tmp_path, "tenant", "link", "nobody", "--json")
    assert unknown.returncode == 1 and json.loads(unknown.stdout)["code"] == "not_found"
