"""`picstore import`: a legacy tree with odd names, duplicates and non-images; old paths redirect."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from fastapi.testclient import TestClient

from picstore import ImageStore, errors
from picstore.catalog.legacy import canonical_path
from picstore.ops.importer import TenantRule, import_tree
from picstore.settings import load_settings
from picstore.web.app import create_app
from tests.helpers import every_image
from tests.legacy_tree import LegacyTree, build

REJECTION_CODES = {
    cls.code
    for cls in vars(errors).values()
    if isinstance(cls, type) and issubclass(cls, errors.ImageRejected)
}
BY_FOLDER = TenantRule.of(None, r"^([^/]+)/")


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> LegacyTree:
    return build(tmp_path_factory.mktemp("legacy") / "pictures")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ImageStore]:
    settings = load_settings(
        storage=(tmp_path / "blobs").as_uri(),
        database=f"sqlite:///{tmp_path}/c.db",
        legacy_prefix="/pictures",
        public_url="http://pics.test",
    )
    with ImageStore.from_settings(settings) as s:
        yield s


def _image_of(store: ImageStore, rel: bytes) -> str | None:
    return store.catalog.legacy.image_for(canonical_path(rel))


def test_import_then_old_paths_redirect(tree: LegacyTree, store: ImageStore) -> None:
    report = import_tree(store, tree.root, BY_FOLDER, create_tenants=True, workers=4)
    assert report.ok, report.failed
    assert set(report.tenants_created) == {"acme", "globex"}
    assert report.found == len(tree.pictures) + len(tree.refused)
    assert report.imported == len(tree.pictures)
    refused = {p.path: p.code for p in report.refused}
    assert set(refused) == {r.decode("utf-8", "backslashreplace") for r in tree.refused}
    assert set(refused.values()) <= REJECTION_CODES
    for group in tree.duplicates:  # identical bytes of one tenant: one image, every path points to it
        ids = {_image_of(store, rel) for rel in group}
        assert len(ids) == 1 and None not in ids
    for rel, tenant in tree.pictures.items():
        image = store.get(_image_of(store, rel) or "", tenant)
        assert image.tenant == tenant
    assert all(_image_of(store, rel) is None for rel in tree.refused)

    client = TestClient(create_app(store), follow_redirects=False)
    for rel in tree.pictures:
        # However the client escapes it: fully, or only what must be.
        for url in (
            quote(b"/pictures/" + rel),
            "/pictures/" + quote(rel, safe="/()[]+=&#%").replace("#", "%23"),
        ):
            answer = client.get(url)
            assert answer.status_code == 301, (url, answer.text)
            image_id = _image_of(store, rel) or ""
            assert answer.headers["location"] == store.url(image_id)
            served = client.get(answer.headers["location"].removeprefix("http://pics.test"))
            assert hashlib.sha256(served.content).hexdigest() == store.get(image_id).sha256
    for rel in list(tree.refused)[:3]:
        assert client.get(quote(b"/pictures/" + rel)).status_code == 404
    assert client.get("/pictures/never/was/here.jpg").json()["code"] == "not_found"

    again = import_tree(store, tree.root, BY_FOLDER, workers=4)
    # Pictures and refused images are recorded; what had no tenant or was unreadable would be retried.
    assert again.imported == 0 and again.already_recorded == report.found and again.refused == []


def test_rewrite_maps(tree: LegacyTree, store: ImageStore) -> None:
    import_tree(store, tree.root, BY_FOLDER, create_tenants=True, workers=4)
    from picstore.ops.rewrite_map import rewrite_map

    nginx = b"".join(rewrite_map(store, "nginx", "/pictures"))
    lighttpd = b"".join(rewrite_map(store, "lighttpd", "/pictures")).decode("ascii")
    for rel in tree.pictures:
        url = store.url(_image_of(store, rel) or "")
        assert b'"/pictures/' + rel.replace(b'"', b'\\"') + b'" "' + url.encode() + b'";' in nginx
        assert lighttpd.count(f'=> "{url}"') >= 1
    assert nginx.count(b'\n    "/pictures/') == len(tree.pictures)
    assert "\\" not in lighttpd and lighttpd.count(" => ") == len(tree.pictures)
    import re

    patterns = [line.split('"')[1] for line in lighttpd.splitlines() if " => " in line]
    wanted = {quote(b"/pictures/" + rel) for rel in tree.pictures}
    assert all(any(re.fullmatch(p, w) for p in patterns) for w in wanted)


def test_interrupted_import_resumes_and_imports_nothing_twice(tree: LegacyTree, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PICSTORE_")}
    env.update(PICSTORE_STORAGE=(tmp_path / "blobs").as_uri(), PICSTORE_DATABASE=f"sqlite:///{tmp_path}/c.db")
    cmd = [sys.executable, "-m", "picstore", "import", str(tree.root), "--tenant-from", "^([^/]+)/"]
    cmd += ["--create-tenants", "--json", "-j", "2"]
    proc = subprocess.Popen(cmd, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    settings = load_settings(storage=env["PICSTORE_STORAGE"], database=env["PICSTORE_DATABASE"])
    deadline = time.monotonic() + 60
    while True:  # kill it once it has recorded some files, wherever it is
        time.sleep(0.2)
        if proc.poll() is not None or time.monotonic() > deadline:
            break
        with ImageStore.from_settings(settings) as peek:
            if sum(1 for _ in peek.catalog.legacy.walk()) > 20:
                break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    first = json.loads(done.stdout)
    assert first["failed"] == []
    again = json.loads(subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, timeout=120).stdout)
    assert again["imported"] == 0 and again["refused"] == []
    with ImageStore.from_settings(settings) as store:
        images = {t.slug: {i.id for i in every_image(store, t.slug)} for t in store.tenants()}
        # One image per distinct picture of a tenant, though the run was killed part-way.
        distinct = {(tenant, _digest(tree, rel)) for rel, tenant in tree.pictures.items()}
        assert sum(len(ids) for ids in images.values()) == len(distinct)
        for rel, tenant in tree.pictures.items():
            assert _image_of(store, rel) in images[tenant]


def _digest(tree: LegacyTree, rel: bytes) -> str:
    with open(os.path.join(os.fsencode(tree.root), rel), "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def test_options_are_checked() -> None:
    with pytest.raises(errors.InvalidRequest, match="either"):
        TenantRule.of("acme", "^(x)")
    with pytest.raises(errors.InvalidRequest, match="group"):
        TenantRule.of(None, "^acme/")
    with pytest.raises(errors.NoTenant):
        BY_FOLDER.tenant_of("top-level.jpg")


def test_head_request_and_unknown_prefix_are_plain(store: ImageStore) -> None:
    client = TestClient(create_app(store), follow_redirects=False)
    assert client.head("/pictures/x.jpg").status_code == 404
    assert isinstance(client.get("/elsewhere/x.jpg"), httpx.Response)
