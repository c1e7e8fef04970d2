"""The whole move, as a site would do it: import the old tree, then migrate to Ceph RGW under load.

One `picstore serve` runs throughout and is never restarted. A reader fetches random old paths, old
`/b/` URLs and current URLs; a writer uploads through the running service. The migration is SIGKILLed
at random moments and resumed. Afterwards: verify passes and says the old store can go, every image reads
back with its recorded hash, the reader saw no error and no wrong bytes, uploads after the switch are on
RGW only, a second migrate copies nothing, and the source was never modified.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from picstore import ImageStore
from picstore.blobs.s3 import S3Store
from picstore.blobs.s3_policy import setup_bucket
from picstore.catalog.legacy import canonical_path
from picstore.ops.importer import TenantRule, import_tree
from picstore.settings import load_settings
from tests.helpers import every_image, make_jpeg
from tests.legacy_tree import build
from tests.s3.conftest import RGW, rgw, s3_settings
from tests.test_two_nodes import _start, _wait_ready

__all__ = ["rgw"]
pytestmark = [pytest.mark.s3, pytest.mark.postgres]
KILLS = 3


@pytest.fixture
def public_bucket(rgw: RGW) -> Iterator[str]:
    name = f"picstore-move-{uuid.uuid4().hex[:12]}"
    store = S3Store.from_url(
        f"s3://{name}/p", s3_settings(s3_endpoint=rgw.endpoint), credentials=(rgw.access_key, rgw.secret_key)
    )
    setup_bucket(store, public=True)
    yield name
    client = rgw.client()
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=name):
        keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if keys:
            client.delete_objects(Bucket=name, Delete={"Objects": keys, "Quiet": True})
    client.delete_bucket(Bucket=name)


def _tree_hashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in root.rglob("*")
        if p.is_file() and ".tmp" not in p.parts
    }


class Load:
    """A reader of random old and new URLs and a writer of new uploads, against one running service."""

    def __init__(self, base: str, urls: list[tuple[str, str]], api_key: str) -> None:
        self.base, self.urls, self.auth = base, urls, {"Authorization": f"Bearer {api_key}"}
        self.errors: list[str] = []
        self.reads = 0
        self.uploads: list[tuple[float, dict[str, object]]] = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._read), threading.Thread(target=self._write)]

    def __enter__(self) -> Load:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(60)

    def _read(self) -> None:
        rng = random.Random(7)
        with httpx.Client(follow_redirects=True, timeout=30) as client:
            while not self.stop.is_set():
                url, sha = rng.choice(self.urls)
                try:
                    got = client.get(url if url.startswith("http") else self.base + url)
                except httpx.HTTPError as exc:
                    self.errors.append(f"{url}: {exc!r}")
                    continue
                if got.status_code != 200 or hashlib.sha256(got.content).hexdigest() != sha:
                    self.errors.append(f"{url}: {got.status_code}, {len(got.content)} bytes")
                self.reads += 1

    def _write(self) -> None:
        n = 0
        with httpx.Client(timeout=60) as client:
            while not self.stop.is_set():
                n += 1
                started = time.time()
                data = make_jpeg(40 + n % 50, 30 + n // 50, (n % 256, 90, 200))
                got = client.post(
                    f"{self.base}/v1/images", files={"file": (f"{n}.jpg", data)}, headers=self.auth
                )
                if got.status_code != 201:
                    self.errors.append(f"upload {n}: {got.status_code} {got.text[:200]}")
                else:
                    self.uploads.append((started, got.json()))
                time.sleep(0.05)


def _migrate(env: dict[str, str], cwd: Path, target: str) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "picstore", "migrate", "--to", target, "--json", "-j", "4"]
    return subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_import_then_migrate_to_rgw_under_load(
    rgw: RGW, public_bucket: str, pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src, target = tmp_path / "old-blobs", f"s3://{public_bucket}/p"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PICSTORE_", "AWS_"))}
    env.update(rgw.env())
    env.update(
        PICSTORE_STORAGE=src.as_uri(),
        PICSTORE_DATABASE=pg_url,
        PICSTORE_S3_ENDPOINT=rgw.endpoint,
        PICSTORE_LEGACY_PREFIX="/pictures",
        PICSTORE_TARGET_TTL="1",
    )
    settings = load_settings(storage=src.as_uri(), database=pg_url, s3_endpoint=rgw.endpoint, target_ttl=1)
    tree = build(tmp_path / "legacy", copies=2)
    with ImageStore.from_settings(settings) as store:
        report = import_tree(store, tree.root, TenantRule.of(None, r"^([^/]+)/"), create_tenants=True)
        assert report.ok and report.imported == len(tree.pictures)
        api_key = report.tenants_created["acme"]

    proc, base = _start(env, tmp_path)
    try:
        _wait_ready(proc, base)
        for name, value in rgw.env().items():  # this process reads the bucket too, after the switch
            monkeypatch.setenv(name, value)
        with ImageStore.from_settings(settings) as store:
            urls: list[tuple[str, str]] = []
            for rel in tree.pictures:
                image = store.get(store.catalog.legacy.image_for(canonical_path(rel)) or "")
                urls.append(("/pictures/" + quote(rel), image.sha256))  # the old lighttpd URL
                urls.append(("/b/" + image.key, image.sha256))  # the URL pages hold today
            before = _tree_hashes(src)
            with Load(base, urls, api_key) as load:
                time.sleep(1)
                rng = random.Random(11)
                for _ in range(KILLS):
                    run = _migrate(env, tmp_path, target)
                    time.sleep(rng.uniform(0.5, 4.0))  # starting, switching, copying or done
                    run.send_signal(signal.SIGKILL)
                    run.wait()
                run = _migrate(env, tmp_path, target)
                targets, rgw_url = store.catalog.targets, S3Store.from_url(target, settings).url
                while targets.current() != rgw_url and run.poll() is None:
                    time.sleep(0.05)
                switched = time.time()  # at the latest: a killed run may have switched already
                out, errors = run.communicate(timeout=180)
                assert run.returncode == 0, errors
                final = json.loads(out)
                # Current URLs now point at RGW: read those too, then stop the load.
                urls.extend((store.url(i.id), i.sha256) for i in store.list("globex", 20).items)
                time.sleep(1.5)
            assert load.errors == [] and load.reads > 0 and proc.poll() is None
            print(f"reads {load.reads}, uploads {len(load.uploads)}, last migrate run: {final}")

            assert store.blobs.url == S3Store.from_url(target, settings).url
            after_switch = [u for t, u in load.uploads if t > switched + 2]  # target_ttl 1 s, and a margin
            assert after_switch, "the writer made no upload after the switch"
            for upload in after_switch:  # on RGW, and never written to the old store
                image = store.get(str(upload["id"]))
                assert str(upload["url"]).startswith(rgw.endpoint)
                assert (
                    store.catalog.blobs.get(image.key).store_url == rgw_url and not (src / image.key).exists()
                )
            for tenant in ("acme", "globex"):
                for image in every_image(store, tenant):
                    assert hashlib.sha256(store.read(image.id)).hexdigest() == image.sha256
            now = _tree_hashes(src)
            assert {k: now[k] for k in before} == before  # nothing in the old store changed or went

        again = _migrate(env, tmp_path, target)
        second = json.loads(again.communicate(timeout=120)[0])
        assert second["copied"] == 0 and second["total"] == 0
        checked = subprocess.run(
            [sys.executable, "-m", "picstore", "verify", "--json"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=180,
        )
        result = json.loads(checked.stdout)
        assert checked.returncode == 0 and result["old_stores_removable"], result
    finally:
        proc.terminate()
        proc.wait(10)
