"""Checks of the optional blob store abilities of :mod:`picstore.blobs.base`, run whenever a backend
claims one (has its method), the way a backend's claim is what upper layers act on.

A backend that does not claim an ability has that test skipped, with the ability's name as the reason:
a skip is a statement about the backend, never a check that passed without asserting.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from picstore.blobs.base import BlobStore, DirectPost, Encloses, IncomingSibling, LocalFiles
from picstore.errors import InvalidKey, NotFound
from picstore.testing.cases import MALFORMED_KEYS


def _claims(store: BlobStore, ability: type) -> None:
    if not isinstance(store, ability):
        pytest.skip(f"{type(store).__name__} does not claim {ability.__name__}")


class AbilityConformance:
    """Mixed into :class:`~picstore.testing.BlobStoreConformance`; uses its ``store`` and ``prefix``."""

    # --- LocalFiles ----------------------------------------------------------------------------------

    def test_local_files_are_the_blobs(self, store: BlobStore, prefix: str) -> None:
        _claims(store, LocalFiles)
        assert isinstance(store, LocalFiles)
        store.put(prefix + "a.jpg", b"hello", content_type="image/jpeg")
        assert store.path_for(prefix + "a.jpg").read_bytes() == b"hello"
        assert not store.path_for(prefix + "missing.jpg").exists()

    def test_local_files_refuse_malformed_keys(self, store: BlobStore) -> None:
        _claims(store, LocalFiles)
        assert isinstance(store, LocalFiles)
        for key in MALFORMED_KEYS.values():
            with pytest.raises(InvalidKey):
                store.path_for(key)

    # --- DirectPost ----------------------------------------------------------------------------------

    def test_direct_post_admits_exactly_the_declared_file(self, store: BlobStore, prefix: str) -> None:
        _claims(store, DirectPost)
        assert isinstance(store, DirectPost)
        import httpx  # a test dependency; only this check sends the browser's request

        key = prefix + "posted.jpg"
        post = store.sign_post(key, content_type="image/jpeg", max_bytes=10, expires_in=60)
        assert post.url.startswith(("http://", "https://"))
        assert post.expires_at > datetime.now(UTC)
        too_big = httpx.post(post.url, data=post.fields, files={"file": ("a.jpg", b"x" * 11, "image/jpeg")})
        assert too_big.status_code >= 400
        with pytest.raises(NotFound):
            store.head(key)
        sent = httpx.post(post.url, data=post.fields, files={"file": ("a.jpg", b"hello", "image/jpeg")})
        assert sent.status_code < 300, sent.text
        assert store.get(key) == b"hello"

    def test_direct_post_refuses_malformed_keys(self, store: BlobStore) -> None:
        _claims(store, DirectPost)
        assert isinstance(store, DirectPost)
        for key in MALFORMED_KEYS.values():
            with pytest.raises(InvalidKey):
                store.sign_post(key, content_type="image/jpeg", max_bytes=10, expires_in=60)

    # --- IncomingSibling and Encloses ----------------------------------------------------------------

    def test_incoming_sibling_is_apart(self, store: BlobStore, prefix: str) -> None:
        _claims(store, IncomingSibling)
        assert isinstance(store, IncomingSibling)
        sibling = store.incoming_sibling()
        assert isinstance(sibling, BlobStore) and sibling.url != store.url
        key = prefix + "waiting.jpg"
        sibling.put(key, b"not yet public", content_type="image/jpeg", mode="overwrite")
        try:
            with pytest.raises(NotFound):
                store.get(key)
            assert sibling.public_url(key) is None or sibling.public_url(key) != store.public_url(key)
            if isinstance(store, Encloses):
                assert store.encloses(sibling) is None
        finally:
            sibling.delete(key)
            sibling.close()

    def test_a_store_encloses_itself(self, store: BlobStore) -> None:
        _claims(store, Encloses)
        assert isinstance(store, Encloses)
        how = store.encloses(store)
        assert isinstance(how, str) and how
