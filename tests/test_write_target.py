"""The write target lives in the catalog: settings seed it, a switch reaches every node, restarts keep it."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from picstore import ImageStore
from picstore.blobs.local import LocalStore
from picstore.errors import ConfigError
from picstore.settings import load_settings
from tests.helpers import make_jpeg


def _node(tmp_path: Path, database_url: str, storage: str, ttl: float = 0.0) -> ImageStore:
    return ImageStore.from_settings(load_settings(storage=storage, database=database_url, target_ttl=ttl))


def test_settings_seed_a_new_catalog_then_the_catalog_decides(
    tmp_path: Path, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    first, second = (tmp_path / "a").as_uri(), (tmp_path / "b").as_uri()
    with _node(tmp_path, database_url, first) as one:
        assert one.blobs.url == LocalStore.from_url(first).url
        one.create_tenant("acme")
        one.use_storage(second)
    # A node restarted with the old settings does not switch back, and says so.
    caplog.set_level(logging.WARNING, logger="picstore.storage")
    with _node(tmp_path, database_url, first) as again:
        assert again.blobs.url == LocalStore.from_url(second).url
        image = again.put(make_jpeg(), "acme")
        assert again.catalog.blobs.get(image.key).store_url == LocalStore.from_url(second).url
        assert (tmp_path / "b").is_dir() and not any((tmp_path / "a").rglob("*.jpg"))
    assert any("catalog's write target is" in r.getMessage() for r in caplog.records)


def test_a_switch_reaches_a_running_node_within_its_ttl(tmp_path: Path, database_url: str) -> None:
    old, new = (tmp_path / "old").as_uri(), (tmp_path / "new").as_uri()
    with _node(tmp_path, database_url, old, ttl=0.2) as running, _node(tmp_path, database_url, old) as admin:
        running.create_tenant("acme")
        before = running.put(make_jpeg(20, 20), "acme")
        admin.use_storage(new)
        deadline = time.monotonic() + 30  # a bound on a broken switch, not a speed assertion
        while running.blobs.url != LocalStore.from_url(new).url:
            assert time.monotonic() < deadline, "the running node never picked up the new write target"
            time.sleep(0.05)
        after = running.put(make_jpeg(21, 21), "acme")
        assert running.catalog.blobs.get(after.key).store_url == LocalStore.from_url(new).url
        # Blobs written before the switch are still read from where they are.
        assert running.catalog.blobs.get(before.key).store_url == LocalStore.from_url(old).url
        assert running.read(before.id) and running.read(after.id)


def test_an_unusable_url_changes_nothing(tmp_path: Path) -> None:
    with _node(tmp_path, f"sqlite:///{tmp_path}/c.db", (tmp_path / "a").as_uri()) as store:
        with pytest.raises(ConfigError):
            store.use_storage("ftp://example/x")
        assert store.blobs.url == LocalStore(tmp_path / "a").url


def test_direct_uploads_follow_a_switch_and_finish_the_ones_under_way(
    tmp_path: Path, database_url: str
) -> None:
    from picstore.direct_uploads import DirectUploads

    first, second = (tmp_path / "a").as_uri(), (tmp_path / "b").as_uri()
    data = make_jpeg()
    with _node(tmp_path, database_url, first) as store:
        store.create_tenant("acme")
        uploads = DirectUploads(store)
        before = uploads.create("acme", filename="a.jpg", content_type="image/jpeg", size=len(data))
        old_incoming = uploads.incoming.url
        uploads.receive(before.upload_id, token=before.fields["token"], content_type="image/jpeg", data=data)
        store.use_storage(second)
        # New uploads wait beside the new target, with no restart ...
        after = uploads.create("acme", filename="b.jpg", content_type="image/jpeg", size=len(data))
        assert uploads.incoming.url != old_incoming
        assert uploads.incoming.url == store.blobs.incoming_sibling().url  # type: ignore[attr-defined]
        uploads.receive(after.upload_id, token=after.fields["token"], content_type="image/jpeg", data=data)
        # ... and the one under way completes from where its file was left.
        for ticket in (before, after):
            image = uploads.complete(ticket.upload_id, "acme")
            assert store.catalog.blobs.get(image.key).store_url == store.blobs.url
        assert not any(p.is_file() for p in (tmp_path / "a-incoming").rglob("*"))
        assert not any(p.is_file() for p in (tmp_path / "b-incoming").rglob("*"))
