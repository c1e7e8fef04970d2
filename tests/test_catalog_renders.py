"""Render claims and render jobs in the catalog, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from picstore.catalog import Catalog, create_catalog_engine, upgrade
from picstore.catalog.clock import now_us
from picstore.catalog.tables import blobs, images, render_claims, tenants


@pytest.fixture
def catalog(database_url: str) -> Iterator[Catalog]:
    engine = create_catalog_engine(database_url)
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(
            tenants.insert().values(id="t1", slug="acme", name="acme", api_key_hash="h", created_us=1)
        )
    yield Catalog(engine)
    engine.dispose()


def test_one_owner_at_a_time_until_release(catalog: Catalog) -> None:
    assert catalog.renders.claim_render("var/k", "a", 60_000_000)
    assert not catalog.renders.claim_render("var/k", "b", 60_000_000)
    assert catalog.renders.render_claimed("var/k")
    catalog.renders.release_render("var/k", "b")  # not b's: nothing happens
    assert catalog.renders.render_claimed("var/k")
    catalog.renders.release_render("var/k", "a")
    assert not catalog.renders.render_claimed("var/k")
    assert catalog.renders.claim_render("var/k", "b", 60_000_000)


def test_an_expired_claim_is_taken_over(catalog: Catalog) -> None:
    assert catalog.renders.claim_render("var/k", "dead", 60_000_000)
    with catalog.engine.begin() as conn:  # the node that claimed it died long ago
        conn.execute(render_claims.update().values(expires_us=now_us() - 1))
    assert not catalog.renders.render_claimed("var/k")
    assert catalog.renders.claim_render("var/k", "alive", 60_000_000)
    assert not catalog.renders.claim_render("var/k", "dead", 60_000_000)


def _image(catalog: Catalog, image_id: str) -> None:
    with catalog.engine.begin() as conn:
        conn.execute(
            images.insert().values(
                id=image_id,
                tenant_id="t1",
                blob_key=f"img/{image_id}",
                format="jpeg",
                width=1,
                height=1,
                frames=1,
                bytes=1,
                sha256="0" * 64,
                created_us=1,
            )
        )


def test_jobs_are_leased_once_retried_later_and_finished(catalog: Catalog) -> None:
    with catalog.engine.begin() as conn:
        for key in ("img/i1", "img/i2"):
            conn.execute(
                blobs.insert().values(
                    key=key,
                    store="memory://",
                    size=1,
                    sha256="0" * 64,
                    content_type="image/jpeg",
                    created_us=1,
                )
            )
    _image(catalog, "i1")
    _image(catalog, "i2")
    catalog.renders.add_render_job("var/a.avif", "i1", "w=10,f=avif")
    catalog.renders.add_render_job("var/a.avif", "i1", "w=10,f=avif")  # queued once
    catalog.renders.add_render_job("var/b.avif", "i2", "w=20,f=avif")
    first = catalog.renders.lease_render_job("n1", 60_000_000)
    second = catalog.renders.lease_render_job("n2", 60_000_000)
    assert first is not None and second is not None and first.key != second.key
    assert catalog.renders.lease_render_job("n3", 60_000_000) is None  # both leased
    catalog.renders.retry_render_job(first.key, "boom", 0)
    again = catalog.renders.lease_render_job("n3", 60_000_000)
    assert again is not None and again.key == first.key and again.attempts == 2
    catalog.renders.finish_render_job(again.key)
    catalog.renders.finish_render_job(second.key)
    assert catalog.renders.render_jobs_count() == 0
