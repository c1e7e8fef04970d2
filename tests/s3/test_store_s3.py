"""ImageStore, the CLI and migration with blobs in a real Ceph RGW."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from picstore import ImageStore, errors
from picstore.ops.migrate import migrate
from picstore.ops.verify import verify
from picstore.settings import load_settings
from tests.helpers import make_jpeg
from tests.s3.conftest import RGW


@pytest.fixture
def s3_url(bucket: str) -> str:
    return f"s3://{bucket}/st-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def s3_env(rgw: RGW, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The standard AWS variables pointing at RGW, as an application would set them."""
    env = {**rgw.env(), "PICSTORE_S3_ENDPOINT": rgw.endpoint, "PICSTORE_S3_PATH_STYLE": "true"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


def _store(s3_url: str, tmp_path: Path, **settings: object) -> ImageStore:
    return ImageStore.from_settings(
        load_settings(storage=s3_url, database=f"sqlite:///{tmp_path}/c.db", **settings)
    )


def test_image_store_on_s3(s3_url: str, s3_env: dict[str, str], tmp_path: Path, rgw: RGW) -> None:
    with _store(s3_url, tmp_path, s3_presign=True) as store:
        store.create_tenant("acme")
        image = store.put(make_jpeg(90, 60), "acme", filename="a.jpg")
        data = store.read(image.id)
        assert hashlib.sha256(data).hexdigest() == image.sha256
        url = store.url(image.id)
        assert "X-Amz-Signature=" in url
        resp = httpx.get(url)  # a presigned URL works for anyone who has it...
        assert resp.status_code == 200 and resp.content == data
        assert resp.headers["content-type"] == "image/jpeg"
        assert resp.headers["cache-control"] == "public, max-age=31536000, immutable"
        plain = url.split("?", 1)[0]
        assert httpx.get(plain).status_code == 403  # ...and the bucket itself is private
        twin = store.put(make_jpeg(90, 60), "acme")  # same bytes: one object
        assert twin.key == image.key
        store.delete(image.id)
        store.delete(twin.id)
        assert sorted(store.gc(grace_seconds=0)) == sorted([image.key, *(v.key for v in image.variants)])
        with pytest.raises(errors.NotFound):
            store.blobs.head(image.key)


def test_cli_end_to_end_on_s3(s3_url: str, s3_env: dict[str, str], tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PICSTORE_")}
    env.update(s3_env, PICSTORE_STORAGE=s3_url, PICSTORE_DATABASE=f"sqlite:///{tmp_path}/c.db")

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "picstore", *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    setup = cli("s3", "setup", "--json")
    assert setup.returncode == 0, setup.stderr
    assert json.loads(setup.stdout)["public_read"] is True
    assert cli("tenant", "create", "acme", "--json").returncode == 0
    (tmp_path / "p.jpg").write_bytes(make_jpeg(120, 80))
    put = cli("put", "p.jpg", "--tenant", "acme", "--json")
    assert put.returncode == 0, put.stderr
    image = json.loads(put.stdout)
    got = cli("get", image["id"], "-o", "out.jpg")
    assert got.returncode == 0, got.stderr
    stored = (tmp_path / "out.jpg").read_bytes()
    assert hashlib.sha256(stored).hexdigest() == image["sha256"]
    resp = httpx.get(image["url"])  # anonymous: the bucket policy makes stored images public
    assert resp.status_code == 200 and resp.content == stored
    assert resp.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert resp.headers["content-type"] == "image/jpeg"
    assert cli("rm", image["id"]).returncode == 0
    assert cli("get", image["id"], "-o", "gone.jpg").returncode == 1


def test_migrate_file_to_s3_and_back(s3_url: str, s3_env: dict[str, str], tmp_path: Path) -> None:
    with ImageStore.from_settings(
        load_settings(storage=(tmp_path / "disk").as_uri(), database=f"sqlite:///{tmp_path}/c.db")
    ) as store:
        store.create_tenant("acme")
        ids = [store.put(make_jpeg(20 + i, 20, (i * 9, 0, 0)), "acme").id for i in range(10)]
        originals = {i: store.read(i) for i in ids}
        report = migrate(store, s3_url, workers=8)
        assert report.ok and report.copied == report.total > 0
        assert migrate(store, s3_url).total == 0
        assert verify(store).ok
        for image_id, data in originals.items():
            assert store.url(image_id).startswith(s3_env["PICSTORE_S3_ENDPOINT"])
            assert store.read(image_id) == data
        back = migrate(store, (tmp_path / "disk2").as_uri())
        assert back.ok and back.copied == report.total
