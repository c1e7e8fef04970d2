"""A missing bucket or refused credentials: /readyz says why, `storage use` and `migrate` change nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from picstore import ImageStore
from picstore.errors import StorageMisconfigured
from picstore.ops.migrate import migrate
from picstore.settings import load_settings
from picstore.web.app import create_app
from tests.helpers import make_jpeg
from tests.s3.conftest import RGW

pytestmark = pytest.mark.s3
MISSING = "s3://picstore-no-such-bucket-here/p"


@pytest.fixture
def creds(rgw: RGW, monkeypatch: pytest.MonkeyPatch) -> RGW:
    for name, value in rgw.env().items():
        monkeypatch.setenv(name, value)
    return rgw


@pytest.fixture
def local(tmp_path: Path, creds: RGW) -> Iterator[ImageStore]:
    settings = load_settings(
        storage=(tmp_path / "b").as_uri(),
        database=f"sqlite:///{tmp_path}/c.db",
        s3_endpoint=creds.endpoint,
        target_ttl=0,
    )
    with ImageStore.from_settings(settings) as store:
        store.create_tenant("acme")
        for i in range(3):
            store.put(make_jpeg(30 + i, 30), "acme")
        yield store


def test_readyz_fails_with_the_reason_for_a_missing_bucket(tmp_path: Path, creds: RGW) -> None:
    settings = load_settings(
        storage=MISSING, database=f"sqlite:///{tmp_path}/c.db", s3_endpoint=creds.endpoint
    )
    with ImageStore.from_settings(settings) as store:
        client = TestClient(create_app(store))
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["code"] == "storage_misconfigured"
        assert (
            "bucket does not exist" in ready.json()["detail"]
            and "picstore s3 setup" in ready.json()["detail"]
        )


def test_readyz_fails_for_refused_credentials(
    tmp_path: Path, creds: RGW, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong")
    settings = load_settings(
        storage=f"s3://{bucket}/p", database=f"sqlite:///{tmp_path}/c.db", s3_endpoint=creds.endpoint
    )
    with ImageStore.from_settings(settings) as store:
        ready = TestClient(create_app(store)).get("/readyz")
        assert ready.status_code == 503 and "credentials" in ready.json()["detail"]


def test_storage_use_refuses_a_missing_bucket(local: ImageStore) -> None:
    before = local.blobs.url
    with pytest.raises(StorageMisconfigured, match="bucket does not exist"):
        local.use_storage(MISSING)
    assert local.blobs.url == before


def test_migrate_to_a_missing_bucket_stops_before_changing_anything(local: ImageStore) -> None:
    before = local.blobs.url
    report = migrate(local, MISSING)
    assert not report.ok and report.stopped and "bucket does not exist" in report.stopped
    assert report.copied == 0 and report.failed == {} and report.total > 0
    assert local.blobs.url == before
    assert {loc.store_url for loc in local.catalog.blobs.iter_blobs(None, 1000)} == {before}


def test_migrate_with_refused_credentials_stops_at_once(
    local: ImageStore, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong")
    report = migrate(local, f"s3://{bucket}/refused")
    assert report.stopped and "credentials" in report.stopped and report.copied == 0


def test_serve_logs_what_to_fix_on_start(
    tmp_path: Path, creds: RGW, caplog: pytest.LogCaptureFixture
) -> None:
    from picstore.web.app import check_on_start

    settings = load_settings(
        storage=MISSING, database=f"sqlite:///{tmp_path}/c.db", s3_endpoint=creds.endpoint
    )
    with ImageStore.from_settings(settings) as store:
        assert not check_on_start(store)
    assert any("picstore s3 setup" in r.getMessage() and "/readyz" in r.getMessage() for r in caplog.records)
