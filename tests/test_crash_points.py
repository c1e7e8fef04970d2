"""Crash points: put, direct-upload complete, delete, gc and migrate, each killed (SIGKILL) before every
one of its steps, then restarted and retried; after every run the store's invariants hold.

The steps are found by running the operation once and recording its durable effects
(``tests/crashpoints.py``): each catalog commit that wrote something and each blob write or delete.
Invariants checked after each crash, restart and retry (DESIGN.md):
- every catalogued blob is present with its recorded size and SHA-256 (``verify``), so every live
  image reads back with the bytes its hash promises;
- every file in a store has a catalog row, so nothing written is ever out of gc's reach;
- acknowledged images are never lost; a retried put with the same Idempotency-Key makes one image;
- the operation's own end state after the retry (deleted, collected, completed, moved).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from picstore import ImageStore
from picstore.direct_uploads import DirectUploads
from picstore.errors import NotFound
from picstore.ops.migrate import migrate
from picstore.ops.verify import verify
from tests.crashpoints import OPS, settings_for
from tests.helpers import make_jpeg

REPO = Path(__file__).resolve().parents[1]


def _setup(op: str, root: Path) -> dict[str, Any]:
    """A store with one acknowledged image, and what ``op`` works on."""
    root.mkdir()
    context: dict[str, Any] = {}
    with ImageStore(settings=settings_for(root)) as store:
        store.create_tenant("acme")
        context["kept"] = [store.put(make_jpeg(64, 48, (10, 20, 30)), "acme").id]
        if op == "put":
            (root / "upload.jpg").write_bytes(make_jpeg(80, 60, (200, 100, 0)))
        elif op == "complete":
            uploads = DirectUploads(store)
            data = make_jpeg(72, 40, (0, 120, 240))
            ticket = uploads.create("acme", filename="a.jpg", content_type="image/jpeg", size=len(data))
            token = ticket.fields["token"]
            uploads.receive(ticket.upload_id, token=token, content_type="image/jpeg", data=data)
            context["upload_id"] = ticket.upload_id
        elif op == "delete":
            context["image_id"] = store.put(make_jpeg(90, 30, (5, 250, 5)), "acme").id
        elif op == "gc":
            doomed = store.put(make_jpeg(30, 90, (250, 5, 5)), "acme").id
            store.delete(doomed)
        elif op == "migrate":
            context["kept"].append(store.put(make_jpeg(50, 50, (1, 2, 3)), "acme").id)
    (root / "context.json").write_text(json.dumps(context))
    return context


def _drive(op: str, root: Path, kill_at: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tests.crashpoints", op, str(root), kill_at],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _retry(op: str, store: ImageStore, root: Path, context: dict[str, Any]) -> None:
    """What a client (or an operator) does after the crash: the same request again."""
    if op == "put":
        store.put((root / "upload.jpg").read_bytes(), "acme", idempotency_key="crash-1")
    elif op == "complete":
        DirectUploads(store).complete(context["upload_id"], "acme")
    elif op == "delete":
        with contextlib.suppress(NotFound):  # the crash came after the delete committed
            store.delete(context["image_id"])
    elif op == "gc":
        store.gc(0)
    elif op == "migrate":
        assert migrate(store, (root / "target").as_uri(), workers=1).ok


def _files(directory: Path) -> set[str]:
    if not directory.is_dir():
        return set()
    return {
        p.relative_to(directory).as_posix()
        for p in directory.rglob("*")
        if p.is_file() and not p.relative_to(directory).as_posix().startswith(".")
    }


def _check(op: str, store: ImageStore, root: Path, context: dict[str, Any], source_before: set[str]) -> None:
    report = verify(store)
    assert report.ok, f"missing {report.missing}, damaged {report.damaged}"
    rows = {loc.key: loc for loc in store.catalog.blobs.walk()}
    for folder in ("blobs", "target"):
        stray = _files(root / folder) - set(rows)
        assert not stray, f"bytes without a catalog row in {folder} (gc can never remove them): {stray}"
    images = store.list("acme", limit=100).items
    for image_id in context["kept"]:
        image = store.get(image_id)
        assert hashlib.sha256(store.read(image_id)).hexdigest() == image.sha256
    live = {i.id for i in images}
    assert set(context["kept"]) <= live
    if op in ("put", "complete"):
        assert len(images) == len(context["kept"]) + 1  # one image, however often the request came
    if op == "complete":
        assert _files(Path(str(root / "blobs") + "-incoming")) == set()
    if op == "delete":
        assert context["image_id"] not in live
    if op == "gc":
        used = {k for i in images for k in (i.key, *(v.key for v in i.variants))}
        assert set(rows) == used and _files(root / "blobs") == used
    if op == "migrate":
        target = (root / "target").resolve().as_uri()
        assert {loc.store_url for loc in rows.values()} == {target}
        assert _files(root / "blobs") == source_before  # the source is never modified


@pytest.mark.parametrize("op", OPS)
def test_a_crash_before_any_step_loses_nothing(op: str, tmp_path: Path) -> None:
    # Each run gets a store of its own, set up afresh: blob rows hold absolute store URLs, so a copied
    # directory would still point at the original.
    _setup(op, tmp_path / "record")
    recorded = _drive(op, tmp_path / "record", "record")
    assert recorded.returncode == 0, recorded.stderr
    steps: list[str] = json.loads(recorded.stdout.strip().splitlines()[-1])
    assert steps, "the operation made no durable step"
    if op == "put":
        assert steps.count("blob.put blobs:img") == 1 and steps.count("blob.put blobs:var") == 2
        assert steps.count("catalog.commit") >= 2  # the reservation, then the image
    for kill_at in range(len(steps) + 1):
        root = tmp_path / f"kill-{kill_at}"
        context = _setup(op, root)
        source_before = _files(root / "blobs")
        killed = _drive(op, root, str(kill_at))
        assert killed.returncode == -9, f"step {kill_at} ({op}): {killed.stderr[-2000:]}"
        with ImageStore(settings=settings_for(root)) as store:
            _retry(op, store, root, context)
            _check(op, store, root, context, source_before)
