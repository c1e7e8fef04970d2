"""Sign-in links, sessions and upload tokens (picstore.access) on both catalogs."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from picstore import ImageStore
from picstore.access import seconds
from picstore.errors import InvalidRequest, NotFound
from picstore.settings import load_settings


@pytest.fixture
def store(tmp_path: Path, database_url: str) -> Iterator[ImageStore]:
    settings = load_settings(
        storage=(tmp_path / "blobs").as_uri(), database=database_url, public_url="https://pics.example.com/"
    )
    with ImageStore.from_settings(settings) as s:
        s.create_tenant("acme")
        s.create_tenant("globex")
        yield s


def _token(link: str) -> str:
    return link.rsplit("/", 1)[1]


def test_a_signin_link_works_once(store: ImageStore) -> None:
    link = store.signin_link("acme", ttl="15m")
    assert link.startswith("https://pics.example.com/login/link/psl_")
    token = _token(link)
    first = store.access.redeem_link(token)
    assert first is not None and first.slug == "acme"
    assert store.access.redeem_link(token) is None
    assert store.access.redeem_link(token[:-1] + ("A" if token[-1] != "A" else "B")) is None


def test_a_signin_link_expires(store: ImageStore) -> None:
    token = _token(store.signin_link("acme", ttl=1))
    time.sleep(1.05)
    assert store.access.redeem_link(token) is None


def test_tokens_grant_only_their_own_kind(store: ImageStore) -> None:
    link = _token(store.signin_link("acme"))
    upload = store.upload_token("acme", ttl=timedelta(minutes=5))
    session = store.access.start_session(store.tenant("acme"))
    assert store.access.session(link) is None and store.access.session(upload) is None
    assert store.access.uploader(link) is None and store.access.uploader(session) is None
    assert store.access.redeem_link(upload) is None and store.access.redeem_link(session) is None
    assert store.authenticate(upload) is None  # an upload token is not an API key
    found = store.access.uploader(upload)
    assert found is not None and found.slug == "acme"
    grant = store.access.session(session)
    assert grant is not None and grant.tenant is not None and grant.tenant.slug == "acme"
    store.access.end_session(session)
    assert store.access.session(session) is None


def test_the_admin_session_has_no_tenant(store: ImageStore) -> None:
    grant = store.access.session(store.access.start_session(None))
    assert grant is not None and grant.tenant is None


@pytest.mark.parametrize(
    ("ttl", "expected"), [("90s", 90), ("15m", 900), ("2h", 7200), ("1d", 86400), (30, 30), ("45", 45)]
)
def test_durations(ttl: str | int, expected: float) -> None:
    assert seconds(ttl, longest=7 * 86400, what="ttl") == expected


@pytest.mark.parametrize("ttl", ["", "15 minutes", "2y", "-5m", 0, "8d"])
def test_bad_durations_say_how_to_write_one(ttl: str | int) -> None:
    with pytest.raises(InvalidRequest) as caught:
        seconds(ttl, longest=7 * 86400, what="the link's ttl")
    assert caught.value.code == "invalid_request" and "the link's ttl" in caught.value.message


def test_links_for_unknown_tenants_are_refused(store: ImageStore) -> None:
    with pytest.raises(NotFound):
        store.signin_link("nobody")
    with pytest.raises(NotFound):
        store.upload_token("nobody")
