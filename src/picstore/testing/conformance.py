"""The verbs every :class:`~picstore.blobs.base.BlobStore` must have, as a pytest suite.

Every test writes under its own random prefix and removes what it wrote, so the suite can run against a
shared bucket. No assertion passes vacuously: what a backend may or may not report (ETags, modification
times, the content type given to ``put``) is declared by class attributes, and each branch asserts.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import datetime

import pytest

from picstore.blobs.base import BlobStore
from picstore.errors import AlreadyExists, InvalidKey, NotFound
from picstore.formats import content_type_for_key
from picstore.models import BlobInfo
from picstore.testing.abilities import AbilityConformance
from picstore.testing.cases import MALFORMED_KEYS, MALFORMED_PREFIXES, VERBS, call

WRITERS = 16
PAYLOAD_SIZE = 256 * 1024


class BlobStoreConformance(AbilityConformance):
    """Subclass as ``TestSomething`` and define a ``store`` fixture returning the backend under test.

    The optional abilities the backend claims are checked too (:class:`AbilityConformance`).
    """

    #: Whether ``head``/``list`` return the content type given to ``put`` (a local store derives it
    #: from the key's extension instead).
    records_content_type: bool = True
    #: Whether ``put`` and ``head`` report an ETag (a non-empty string that changes when the bytes do).
    reports_etag: bool = True
    #: Whether ``head`` reports a timezone-aware modification time.
    reports_last_modified: bool = True
    #: Whether ``public_url`` hands out a URL a browser fetches from the backend itself (else None:
    #: picstore serves the blobs).
    has_public_urls: bool = False

    @pytest.fixture
    def store(self) -> BlobStore:
        raise NotImplementedError("define a `store` fixture in the conformance subclass")

    @pytest.fixture
    def prefix(self, store: BlobStore) -> Iterator[str]:
        """A fresh key prefix for one test; whatever the test leaves under it is deleted afterwards."""
        prefix = f"conformance/{uuid.uuid4().hex}/"
        yield prefix
        for info in list(store.list(prefix)):
            store.delete(info.key)

    # --- shape -------------------------------------------------------------------------------------

    def test_is_a_blob_store(self, store: BlobStore) -> None:
        assert isinstance(store, BlobStore)
        assert isinstance(store.url, str) and "://" in store.url

    # --- round trips -------------------------------------------------------------------------------

    def test_put_returns_info(self, store: BlobStore, prefix: str) -> None:
        info = store.put(prefix + "a.jpg", b"hello", content_type="image/jpeg")
        assert isinstance(info, BlobInfo)
        assert (info.key, info.size) == (prefix + "a.jpg", 5)

    def test_put_then_get(self, store: BlobStore, prefix: str) -> None:
        store.put(prefix + "a.jpg", b"hello", content_type="image/jpeg")
        assert store.get(prefix + "a.jpg") == b"hello"

    def test_put_then_open(self, store: BlobStore, prefix: str) -> None:
        store.put(prefix + "a.jpg", b"hello world", content_type="image/jpeg")
        with store.open(prefix + "a.jpg") as f:
            assert f.read(5) == b"hello"
            assert f.read() == b" world"

    def test_head(self, store: BlobStore, prefix: str) -> None:
        store.put(prefix + "a.png", b"12345678", content_type="image/png")
        info = store.head(prefix + "a.png")
        assert (info.key, info.size) == (prefix + "a.png", 8)
        if self.reports_etag:
            assert isinstance(info.etag, str) and info.etag
        else:
            assert info.etag is None
        if self.reports_last_modified:
            assert isinstance(info.last_modified, datetime) and info.last_modified.tzinfo is not None
        else:
            assert info.last_modified is None

    def test_head_is_stable(self, store: BlobStore, prefix: str) -> None:
        store.put(prefix + "a.png", b"abc", content_type="image/png")
        assert store.head(prefix + "a.png") == store.head(prefix + "a.png")

    def test_delete_removes(self, store: BlobStore, prefix: str) -> None:
        store.put(prefix + "a.jpg", b"x", content_type="image/jpeg")
        store.delete(prefix + "a.jpg")
        with pytest.raises(NotFound):
            store.get(prefix + "a.jpg")
        assert list(store.list(prefix)) == []

    def test_delete_missing_is_noop(self, store: BlobStore, prefix: str) -> None:
        store.put(prefix + "kept.jpg", b"kept", content_type="image/jpeg")
        store.delete(prefix + "never-written.jpg")  # no error, and nothing else touched
        with pytest.raises(NotFound):
            store.head(prefix + "never-written.jpg")
        assert [i.key for i in store.list(prefix)] == [prefix + "kept.jpg"]

    def test_delete_twice(self, store: BlobStore, prefix: str) -> None:
        store.put(prefix + "a.jpg", b"x", content_type="image/jpeg")
        store.delete(prefix + "a.jpg")
        store.delete(prefix + "a.jpg")  # the second is a no-op, not an error
        with pytest.raises(NotFound):
            store.get(prefix + "a.jpg")
        store.put(prefix + "a.jpg", b"again", content_type="image/jpeg")  # the key is free again
        assert store.get(prefix + "a.jpg") == b"again"

    def test_delete_keeps_siblings(self, store: BlobStore, prefix: str) -> None:
        store.put(prefix + "d/a.jpg", b"a", content_type="image/jpeg")
        store.put(prefix + "d/b.jpg", b"b", content_type="image/jpeg")
        store.delete(prefix + "d/a.jpg")
        assert store.get(prefix + "d/b.jpg") == b"b"

    def test_key_prefix_of_other_key_is_not_a_blob(self, store: BlobStore, prefix: str) -> None:
        # On disk "d" is a directory; for every backend it must behave as a missing key.
        store.put(prefix + "d/a.jpg", b"a", content_type="image/jpeg")
        for verb in ("get", "open", "head"):
            with pytest.raises(NotFound):
                call(store, verb, prefix + "d")
        store.delete(prefix + "d")
        assert store.get(prefix + "d/a.jpg") == b"a"

    # --- create-only and overwrite -----------------------------------------------------------------

    def test_create_refuses_existing_and_keeps_bytes(self, store: BlobStore, prefix: str) -> None:
        store.put(prefix + "a.jpg", b"original", content_type="image/jpeg")
        with pytest.raises(AlreadyExists) as caught:
            store.put(prefix + "a.jpg", b"replacement", content_type="image/jpeg")
        assert isinstance(caught.value, FileExistsError)
        assert store.get(prefix + "a.jpg") == b"original"

    def test_create_same_bytes_still_refused(self, store: BlobStore, prefix: str) -> None:
        store.put(prefix + "a.jpg", b"same", content_type="image/jpeg")
        with pytest.raises(AlreadyExists):
            store.put(prefix + "a.jpg", b"same", content_type="image/jpeg")

    def test_overwrite_replaces(self, store: BlobStore, prefix: str) -> None:
        store.put(prefix + "a.jpg", b"original", content_type="image/jpeg")
        info = store.put(prefix + "a.jpg", b"new", content_type="image/jpeg", mode="overwrite")
        assert info.size == 3
        assert store.get(prefix + "a.jpg") == b"new"
        assert store.head(prefix + "a.jpg").size == 3

    def test_overwrite_creates_missing(self, store: BlobStore, prefix: str) -> None:
        store.put(prefix + "a.jpg", b"new", content_type="image/jpeg", mode="overwrite")
        assert store.get(prefix + "a.jpg") == b"new"

    def test_overwrite_changes_etag(self, store: BlobStore, prefix: str) -> None:
        if not self.reports_etag:
            pytest.skip(f"{type(store).__name__} reports no ETags (reports_etag = False)")
        before = store.put(prefix + "a.jpg", b"aaaa", content_type="image/jpeg")
        store.put(prefix + "a.jpg", b"bbbb", content_type="image/jpeg", mode="overwrite")
        after = store.head(prefix + "a.jpg")
        assert before.etag and after.etag and before.etag != after.etag

    def test_concurrent_create_has_one_winner(self, store: BlobStore, prefix: str) -> None:
        key = prefix + "race.jpg"
        payloads = [bytes([i]) * 16 + uuid.uuid4().bytes * (PAYLOAD_SIZE // 16) for i in range(WRITERS)]
        barrier = threading.Barrier(WRITERS)
        outcomes: list[object] = [None] * WRITERS

        def write(i: int) -> None:
            barrier.wait(timeout=30)
            try:
                outcomes[i] = store.put(key, payloads[i], content_type="image/jpeg")
            except BaseException as exc:  # recorded and asserted on below
                outcomes[i] = exc

        threads = [threading.Thread(target=write, args=(i,)) for i in range(WRITERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert not any(t.is_alive() for t in threads), "a writer hung"
        winners = [i for i, o in enumerate(outcomes) if isinstance(o, BlobInfo)]
        losers = [o for o in outcomes if isinstance(o, AlreadyExists)]
        others = [o for o in outcomes if not isinstance(o, BlobInfo | AlreadyExists)]
        assert others == []
        assert len(winners) == 1 and len(losers) == WRITERS - 1
        assert store.get(key) == payloads[winners[0]]

    def test_concurrent_overwrite_is_never_mixed(self, store: BlobStore, prefix: str) -> None:
        key = prefix + "race.jpg"
        payloads = [bytes([i]) * PAYLOAD_SIZE for i in range(8)]
        barrier = threading.Barrier(len(payloads))
        errors: list[BaseException] = []

        def write(data: bytes) -> None:
            barrier.wait(timeout=30)
            try:
                store.put(key, data, content_type="image/jpeg", mode="overwrite")
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=write, args=(p,)) for p in payloads]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert errors == []
        assert store.get(key) in payloads

    # --- missing keys ------------------------------------------------------------------------------

    @pytest.mark.parametrize("verb", ["get", "open", "head"])
    def test_missing_key_raises_not_found(self, store: BlobStore, prefix: str, verb: str) -> None:
        with pytest.raises(NotFound) as caught:
            call(store, verb, prefix + "missing.jpg")
        assert isinstance(caught.value, FileNotFoundError)

    # --- listing -----------------------------------------------------------------------------------

    def test_list_prefix_is_exact_and_sorted(self, store: BlobStore, prefix: str) -> None:
        keys = ["a/c.jpg", "a/b/x.jpg", "a-b.jpg", "a.b.jpg", "a0.jpg", "a/a.jpg", "b/z.jpg"]
        for k in keys:
            store.put(prefix + k, k.encode(), content_type="image/jpeg")
        listed = [i.key for i in store.list(prefix + "a/")]
        assert listed == sorted(prefix + k for k in keys if k.startswith("a/"))
        everything = [i.key for i in store.list(prefix)]
        assert everything == sorted(prefix + k for k in keys)

    def test_list_prefix_is_a_string_prefix(self, store: BlobStore, prefix: str) -> None:
        # As in S3: "p/a" matches "p/a/x" and "p/ab.jpg", not "p/b.jpg".
        for k in ["a/x.jpg", "ab.jpg", "b.jpg"]:
            store.put(prefix + k, b"x", content_type="image/jpeg")
        assert [i.key for i in store.list(prefix + "a")] == [prefix + "a/x.jpg", prefix + "ab.jpg"]

    def test_list_reports_sizes(self, store: BlobStore, prefix: str) -> None:
        store.put(prefix + "one.jpg", b"1", content_type="image/jpeg")
        store.put(prefix + "three.jpg", b"333", content_type="image/jpeg")
        assert {(i.key, i.size) for i in store.list(prefix)} == {
            (prefix + "one.jpg", 1),
            (prefix + "three.jpg", 3),
        }

    def test_list_unknown_prefix_is_empty(self, store: BlobStore, prefix: str) -> None:
        assert list(store.list(prefix + "nothing/")) == []

    def test_list_whole_store_includes_ours(self, store: BlobStore, prefix: str) -> None:
        store.put(prefix + "a.jpg", b"x", content_type="image/jpeg")
        assert prefix + "a.jpg" in [i.key for i in store.list()]

    # --- malformed keys ----------------------------------------------------------------------------

    @pytest.mark.parametrize("verb", VERBS)
    @pytest.mark.parametrize("key", MALFORMED_KEYS.values(), ids=MALFORMED_KEYS.keys())
    def test_malformed_key_refused(self, store: BlobStore, verb: str, key: str) -> None:
        with pytest.raises(InvalidKey):
            call(store, verb, key)

    @pytest.mark.parametrize("bad", MALFORMED_PREFIXES.values(), ids=MALFORMED_PREFIXES.keys())
    def test_malformed_prefix_refused(self, store: BlobStore, bad: str) -> None:
        with pytest.raises(InvalidKey):
            list(store.list(bad))

    def test_allowed_characters_round_trip(self, store: BlobStore, prefix: str) -> None:
        key = prefix + "AZaz09_-/-x.y_z.tar.gz"
        store.put(key, b"ok", content_type="application/octet-stream")
        assert store.get(key) == b"ok"

    # --- content -----------------------------------------------------------------------------------

    def test_empty_bytes_round_trip(self, store: BlobStore, prefix: str) -> None:
        store.put(prefix + "empty.jpg", b"", content_type="image/jpeg")
        assert store.get(prefix + "empty.jpg") == b""
        assert store.head(prefix + "empty.jpg").size == 0

    def test_all_byte_values_round_trip(self, store: BlobStore, prefix: str) -> None:
        data = bytes(range(256)) * 4 + b"\r\n\n\r\x00\x1a"
        store.put(prefix + "bin.gif", data, content_type="image/gif")
        assert store.get(prefix + "bin.gif") == data
        with store.open(prefix + "bin.gif") as f:
            assert f.read() == data

    def test_large_blob_round_trip(self, store: BlobStore, prefix: str) -> None:
        data = uuid.uuid4().bytes * (3 * 1024 * 1024 // 16 + 7)
        store.put(prefix + "big.jpg", data, content_type="image/jpeg")
        assert store.get(prefix + "big.jpg") == data
        assert store.head(prefix + "big.jpg").size == len(data)

    @pytest.mark.parametrize(
        ("ext", "ctype"), [("jpg", "image/jpeg"), ("png", "image/png"), ("webp", "image/webp")]
    )
    def test_content_type_of_image_keys(self, store: BlobStore, prefix: str, ext: str, ctype: str) -> None:
        key = f"{prefix}pic.{ext}"
        assert store.put(key, b"x", content_type=ctype).content_type == ctype
        assert store.head(key).content_type == ctype
        assert [i.content_type for i in store.list(prefix)] == [ctype]

    def test_content_type_recorded(self, store: BlobStore, prefix: str) -> None:
        # A key whose extension names no format: only a store that records content types knows it.
        store.put(prefix + "blob.bin", b"x", content_type="image/avif")
        expected = "image/avif" if self.records_content_type else content_type_for_key(prefix + "blob.bin")
        assert store.head(prefix + "blob.bin").content_type == expected
        if not self.records_content_type:
            assert expected is None  # derived from the key, which names no format

    def test_public_url_is_none_or_http(self, store: BlobStore, prefix: str) -> None:
        store.put(prefix + "a.jpg", b"x", content_type="image/jpeg")
        url = store.public_url(prefix + "a.jpg")
        if self.has_public_urls:
            assert isinstance(url, str) and url.startswith(("http://", "https://"))
            assert prefix + "a.jpg" in url
        else:
            assert url is None  # picstore serves this backend's blobs itself
