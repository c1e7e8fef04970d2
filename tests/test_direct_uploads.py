"""DirectUploads on a file store and a SQLite catalog, each check at its boundary: the declared size at
0, 1, the limit and the limit + 1; the file's size likewise; the expiry at its last microsecond and at
it; the sweep's grace at its edge; another tenant's upload, a forged id, a wrong token or content type.

Time is pinned through the ``now_us`` the two modules read, so expiry is tested without sleeping.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

import picstore.catalog.upload_records as upload_records
import picstore.direct_uploads as direct_uploads
from picstore import errors
from picstore.blobs.base import BlobStore
from picstore.blobs.registry import open_blob_store
from picstore.catalog.clock import from_us
from picstore.catalog.upload_records import UploadRecord
from picstore.direct_uploads import (
    RECEIVE_PATH,
    SWEEP_GRACE_SECONDS,
    DirectUploads,
    UploadTicket,
    check_incoming,
    incoming_location,
    is_reserved_idempotency_key,
)
from picstore.store import ImageStore
from tests.catalog_support import Clock, pinned_clock
from tests.helpers import make_jpeg
from tests.http_support import make_image_store

LIMIT = 50_000
T0 = 1_800_000_000_000_000  # a fixed "now", in microseconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return pinned_clock(monkeypatch, T0, direct_uploads, upload_records)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ImageStore]:
    with make_image_store(tmp_path, max_bytes=LIMIT, upload_ttl=600) as s:
        s.create_tenant("acme")
        s.create_tenant("globex")
        yield s


@pytest.fixture
def uploads(store: ImageStore) -> DirectUploads:
    return DirectUploads(store)


def _create(uploads: DirectUploads, size: int = 1000, content_type: str = "image/jpeg") -> UploadTicket:
    return uploads.create("acme", filename="dir/Shop Photo.JPG", content_type=content_type, size=size)


def _send(uploads: DirectUploads, ticket: UploadTicket, data: bytes) -> None:
    uploads.receive(
        ticket.upload_id, token=ticket.fields["token"], content_type=ticket.fields["Content-Type"], data=data
    )


def _incoming_keys(uploads: DirectUploads) -> list[str]:
    return [b.key for b in uploads.incoming.list()]


# --- create ----------------------------------------------------------------------------------------


def test_create_records_the_declaration_and_answers_a_ticket(uploads: DirectUploads, clock: Clock) -> None:
    ticket = _create(uploads, size=1234)
    assert ticket.url == uploads.store.url_builder.base_url + RECEIVE_PATH.format(upload_id=ticket.upload_id)
    assert ticket.url.endswith(f"/v1/uploads/{ticket.upload_id}/file")
    token = ticket.fields["token"]
    assert ticket.fields == {"key": ticket.upload_id, "Content-Type": "image/jpeg", "token": token}
    assert len(token) >= 40
    assert ticket.expires_at == from_us(T0 + 600 * 1_000_000)
    record = uploads.catalog.get(ticket.upload_id)
    tenant = uploads.store.tenant("acme")
    assert record == UploadRecord(
        id=ticket.upload_id,
        tenant_id=tenant.id,
        store=uploads.incoming.url,
        key=ticket.upload_id,
        filename="Shop Photo.JPG",
        content_type="image/jpeg",
        max_bytes=1234,
        token_hash=hashlib.sha256(token.encode()).hexdigest(),
        image_id=None,
        created_us=T0,
        expires_us=T0 + 600 * 1_000_000,
    )
    assert _create(uploads).fields["token"] != token


@pytest.mark.parametrize(("size", "ok"), [(0, False), (1, True), (LIMIT - 1, True), (LIMIT, True)])
def test_the_declared_size_is_one_byte_to_the_limit(uploads: DirectUploads, size: int, ok: bool) -> None:
    if ok:
        assert uploads.catalog.get(_create(uploads, size=size).upload_id).max_bytes == size
        return
    with pytest.raises(errors.InvalidRequest, match=r"^bytes must be the size of the file, at least 1$"):
        _create(uploads, size=size)


def test_a_declared_size_over_the_limit_is_too_large(uploads: DirectUploads) -> None:
    with pytest.raises(errors.TooLarge, match=r"^the upload would be 50,001 bytes; the limit is 50,000$"):
        _create(uploads, size=LIMIT + 1)


def test_the_declared_content_type_must_be_one_ingest_accepts(uploads: DirectUploads) -> None:
    accepted = "image/avif, image/gif, image/heic, image/heif, image/jpeg, image/png, image/tiff, image/webp"
    with pytest.raises(errors.UnsupportedFormat) as unsupported:
        _create(uploads, content_type="image/x-icon")
    assert str(unsupported.value) == f"content_type 'image/x-icon' is not accepted; use one of {accepted}"
    with pytest.raises(errors.NotAnImage) as not_image:
        _create(uploads, content_type="text/plain")
    assert str(not_image.value) == f"content_type 'text/plain' is not an image type; use one of {accepted}"
    assert _incoming_keys(uploads) == []


def test_create_sweeps_as_it_goes(uploads: DirectUploads, clock: Clock) -> None:
    old = _create(uploads)
    clock.now += (600 + SWEEP_GRACE_SECONDS) * 1_000_000 + 1
    _create(uploads)
    with pytest.raises(errors.NotFound):
        uploads.catalog.get(old.upload_id)


# --- receive ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("size", "ok"), [(0, False), (1, True), (99, True), (100, True), (101, False)])
def test_the_file_is_one_byte_to_the_declared_size(uploads: DirectUploads, size: int, ok: bool) -> None:
    ticket = _create(uploads, size=100)
    if ok:
        _send(uploads, ticket, b"x" * size)
        assert uploads.incoming.get(ticket.upload_id) == b"x" * size
        return
    if size == 0:  # nothing sent is a client error of its own (400 empty_file), not one of size (413)
        with pytest.raises(errors.EmptyFile, match=r"^the file is empty; this upload takes 1 to 100 bytes$"):
            _send(uploads, ticket, b"")
    else:
        with pytest.raises(errors.TooLarge, match=rf"^the file is {size} bytes; this upload takes 1 to 100$"):
            _send(uploads, ticket, b"x" * size)
    assert _incoming_keys(uploads) == []


def test_the_file_is_taken_until_the_last_microsecond_before_expiry(
    uploads: DirectUploads, clock: Clock
) -> None:
    ticket = _create(uploads)
    clock.now = T0 + 600 * 1_000_000 - 1
    _send(uploads, ticket, b"first")
    clock.now += 1
    with pytest.raises(
        errors.Forbidden, match=rf"^upload {ticket.upload_id} expired at 2027-01-15T08:10:00\+00:00$"
    ):
        _send(uploads, ticket, b"again")
    assert uploads.incoming.get(ticket.upload_id) == b"first"


def test_the_form_needs_the_token_and_the_declared_content_type(uploads: DirectUploads) -> None:
    ticket = _create(uploads)
    other = _create(uploads)
    for token in ("", other.fields["token"], ticket.fields["token"] + "x"):
        with pytest.raises(errors.Forbidden, match=r"^the form token does not match this upload"):
            uploads.receive(ticket.upload_id, token=token, content_type="image/jpeg", data=b"x")
    for content_type in (None, "image/png", "IMAGE/JPEG"):
        with pytest.raises(
            errors.Forbidden, match=r"^the form's Content-Type must be 'image/jpeg', as declared$"
        ):
            uploads.receive(
                ticket.upload_id, token=ticket.fields["token"], content_type=content_type, data=b"x"
            )
    assert _incoming_keys(uploads) == []


def test_a_complete_upload_takes_no_more_files(uploads: DirectUploads) -> None:
    ticket = _create(uploads, size=LIMIT)
    _send(uploads, ticket, make_jpeg())
    uploads.complete(ticket.upload_id, "acme")
    with pytest.raises(errors.Conflict, match=rf"^upload {ticket.upload_id} is already complete$"):
        _send(uploads, ticket, make_jpeg())


def test_an_upload_without_a_token_is_not_received_here(uploads: DirectUploads) -> None:
    ticket = _create(uploads)
    record = uploads.catalog.get(ticket.upload_id)
    posted = UploadRecord(**{**record.__dict__, "id": "posted", "key": "posted", "token_hash": None})
    uploads.catalog.add(posted)
    with pytest.raises(
        errors.NotFound, match=r"^upload 'posted' is not received here: post the file to its url$"
    ):
        uploads.receive("posted", token="", content_type="image/jpeg", data=b"x")
    assert uploads.pending(ticket.upload_id) == record


# --- complete and completed -------------------------------------------------------------------------


def test_complete_publishes_once_and_deletes_the_incoming_file(uploads: DirectUploads) -> None:
    ticket = _create(uploads, size=LIMIT)
    _send(uploads, ticket, make_jpeg())
    image = uploads.complete(ticket.upload_id, "acme", alt="a shop")
    assert (image.tenant, image.filename, image.alt) == ("acme", "Shop Photo.JPG", "a shop")
    assert _incoming_keys(uploads) == []
    assert uploads.catalog.get(ticket.upload_id).image_id == image.id
    assert uploads.completed(ticket.upload_id, "acme") == image
    # A retry after a crash between publishing and deleting: the same image, the leftover deleted.
    uploads.incoming.put(ticket.upload_id, b"leftover", content_type="image/jpeg")
    assert uploads.complete(ticket.upload_id, "acme") == image
    assert _incoming_keys(uploads) == []
    assert uploads.store.catalog.images.count() == 1


def test_another_tenants_upload_is_not_found(uploads: DirectUploads) -> None:
    ticket = _create(uploads, size=LIMIT)
    _send(uploads, ticket, make_jpeg())
    with pytest.raises(errors.NotFound, match=rf"^no upload '{ticket.upload_id}'$"):
        uploads.complete(ticket.upload_id, "globex")
    image = uploads.complete(ticket.upload_id, "acme")
    with pytest.raises(errors.NotFound, match=r"uploads are forgotten once they expire"):
        uploads.completed(ticket.upload_id, "globex")
    assert uploads.completed(ticket.upload_id, uploads.store.tenant("acme")) == image


def test_complete_before_the_file_is_a_conflict(uploads: DirectUploads) -> None:
    ticket = _create(uploads)
    with pytest.raises(errors.Conflict, match=rf"^nothing was uploaded for {ticket.upload_id} yet"):
        uploads.complete(ticket.upload_id, "acme")
    with pytest.raises(errors.Conflict, match=rf"^upload {ticket.upload_id} is not complete"):
        uploads.completed(ticket.upload_id, "acme")


def test_complete_refuses_more_bytes_than_declared_and_deletes_them(uploads: DirectUploads) -> None:
    picture = make_jpeg()
    for declared, ok in ((len(picture) - 1, False), (len(picture), True)):
        ticket = _create(uploads, size=declared)
        # What an S3 POST policy would have let through is checked again: write past receive's check.
        uploads.incoming.put(ticket.upload_id, picture, content_type="image/jpeg")
        if ok:
            image = uploads.complete(ticket.upload_id, "acme")
            assert uploads.catalog.get(ticket.upload_id).image_id == image.id
            continue
        with pytest.raises(
            errors.TooLarge, match=rf"^the file is {len(picture):,} bytes; {declared:,} were declared$"
        ):
            uploads.complete(ticket.upload_id, "acme")
        assert ticket.upload_id not in _incoming_keys(uploads)


def test_complete_deletes_a_refused_file_and_publishes_nothing(uploads: DirectUploads) -> None:
    ticket = _create(uploads)
    _send(uploads, ticket, b"not a picture at all")
    with pytest.raises(errors.NotAnImage):
        uploads.complete(ticket.upload_id, "acme")
    assert _incoming_keys(uploads) == []
    assert uploads.catalog.get(ticket.upload_id).image_id is None
    assert uploads.store.catalog.images.count() == 0


@pytest.mark.parametrize("forged", ["", "ABC", "abc1", "a" * 65, "abc/def", "abc\x00"])
def test_completed_refuses_ids_picstore_cannot_have_made(uploads: DirectUploads, forged: str) -> None:
    with pytest.raises(errors.NotFound) as err:
        uploads.completed(forged, "acme")
    assert str(err.value) == (
        f"no upload {forged[:64]!r} (uploads are forgotten once they expire): upload the picture again"
    )


def test_completed_knows_only_uploads_still_recorded(uploads: DirectUploads) -> None:
    with pytest.raises(errors.NotFound, match=r"^no upload 'a' \(uploads"):
        uploads.completed("a", "acme")
    longest = "a" * 64
    with pytest.raises(errors.NotFound, match=rf"^no upload '{longest}' \(uploads"):
        uploads.completed(longest, "acme")


# --- sweep -----------------------------------------------------------------------------------------


def test_sweep_forgets_uploads_expired_longer_than_the_grace(uploads: DirectUploads, clock: Clock) -> None:
    first = _create(uploads)
    _send(uploads, first, b"left behind")
    clock.now += 1
    second = _create(uploads)
    expiry = T0 + 600 * 1_000_000
    clock.now = expiry + 10 * 1_000_000 - 1  # the first expired 1 us less than the grace ago
    assert uploads.sweep(grace_seconds=10) == 0
    clock.now += 1
    assert uploads.sweep(grace_seconds=10) == 0  # the first expired exactly the grace ago: kept
    clock.now += 1
    assert uploads.sweep(grace_seconds=10) == 1  # ... and 1 us more: swept; the second is at the edge
    assert _incoming_keys(uploads) == []
    with pytest.raises(errors.NotFound):
        uploads.catalog.get(first.upload_id)
    assert uploads.catalog.get(second.upload_id).id == second.upload_id
    clock.now += 1
    assert uploads.sweep(grace_seconds=10) == 1


def test_sweep_takes_at_most_limit_and_defaults_to_an_hours_grace(
    uploads: DirectUploads, clock: Clock
) -> None:
    tickets = [_create(uploads) for _ in range(3)]
    clock.now = T0 + (600 + 3600) * 1_000_000
    assert uploads.sweep() == 0
    clock.now += 1
    assert uploads.sweep(limit=2) == 2
    assert uploads.sweep(limit=2) == 1
    assert all(uploads.sweep() == 0 for _ in tickets)


def test_a_failing_sweep_is_logged_and_left_for_the_next(
    uploads: DirectUploads, clock: Clock, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    ticket = _create(uploads)
    clock.now = T0 + (600 + 3600) * 1_000_000 + 1
    incoming: BlobStore = uploads.incoming

    def broken(key: str) -> None:
        raise errors.StorageUnavailable("the disk is gone")

    monkeypatch.setattr(incoming, "delete", broken)
    with caplog.at_level(logging.WARNING, logger="picstore.direct_uploads"):
        assert uploads.sweep() == 0
    assert f"could not sweep upload {ticket.upload_id}: the disk is gone" in caplog.messages
    assert uploads.catalog.get(ticket.upload_id).id == ticket.upload_id
    monkeypatch.undo()
    monkeypatch.setattr(direct_uploads, "now_us", clock)
    assert uploads.sweep() == 1


# --- the incoming location and the reserved keys ---------------------------------------------------


def test_the_image_store_itself_is_no_incoming_location(store: ImageStore) -> None:
    with pytest.raises(errors.ConfigError, match=r"is the image store itself: set PICSTORE_UPLOAD_INCOMING"):
        check_incoming(store.blobs, store.blobs)


def test_upload_idempotency_keys_are_reserved() -> None:
    assert is_reserved_idempotency_key("upload:abc")
    assert not is_reserved_idempotency_key("uploadabc")
    assert not is_reserved_idempotency_key("x-upload:abc")


def test_a_file_sent_again_replaces_the_first(uploads: DirectUploads) -> None:
    ticket = _create(uploads, size=100)
    _send(uploads, ticket, b"first try")
    _send(uploads, ticket, b"second")
    assert uploads.incoming.get(ticket.upload_id) == b"second"


def test_a_complete_retried_after_a_crash_before_its_record_makes_one_image(
    uploads: DirectUploads, monkeypatch: pytest.MonkeyPatch
) -> None:
    ticket = _create(uploads, size=LIMIT)
    _send(uploads, ticket, make_jpeg())

    def crash(upload_id: str, image_id: str) -> None:
        raise errors.CatalogUnavailable("the catalog went away")

    with monkeypatch.context() as patch:
        patch.setattr(uploads.catalog, "complete", crash)
        with pytest.raises(errors.CatalogUnavailable):
            uploads.complete(ticket.upload_id, "acme")
    assert uploads.store.catalog.images.count() == 1  # published, but the upload does not know it yet
    image = uploads.complete(ticket.upload_id, "acme")
    assert uploads.store.catalog.images.count() == 1
    assert uploads.completed(ticket.upload_id, "acme") == image


def test_upload_records_expire_at_their_instant_and_are_swept_oldest_first(uploads: DirectUploads) -> None:
    record = uploads.catalog.get(_create(uploads).upload_id)
    assert not record.expired(record.expires_us - 1)
    assert record.expired(record.expires_us)
    for n, expires in (("late", 30), ("early", 10), ("middle", 20)):
        uploads.catalog.add(UploadRecord(**{**record.__dict__, "id": n, "key": n, "expires_us": expires}))
    assert [r.id for r in uploads.catalog.expired(25, limit=1)] == ["early"]
    assert [r.id for r in uploads.catalog.expired(25)] == ["early", "middle"]
    with pytest.raises(errors.NotFound) as err:
        uploads.catalog.get("nope")
    assert str(err.value) == "no upload 'nope'"


def test_a_store_with_no_incoming_sibling_needs_a_configured_location(
    store: ImageStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A backend that cannot say where its incoming files would be private (every built-in one can): a
    # protocol member set to None is not implemented.
    no_sibling = type("NoSibling", (type(store.blobs),), {"incoming_sibling": None})
    monkeypatch.setattr(store.blobs, "__class__", no_sibling)
    with pytest.raises(errors.ConfigError) as refused:
        incoming_location(store)
    assert str(refused.value) == (
        f"direct uploads are not supported with {store.blobs.url}; set PICSTORE_UPLOAD_INCOMING"
    )


def test_a_given_incoming_store_is_used_and_each_upload_keeps_the_one_it_was_made_with(
    store: ImageStore, tmp_path: Path
) -> None:
    first = open_blob_store(f"file://{tmp_path / 'first-incoming'}", store.settings)
    second = open_blob_store(f"file://{tmp_path / 'second-incoming'}", store.settings)
    ticket = _create(DirectUploads(store, incoming=first), size=100)
    # Reconfigured since: the upload still goes to, and is completed from, where it was recorded.
    later = DirectUploads(store, incoming=second)
    assert later.incoming is second
    _send(later, ticket, b"50 bytes of a picture".ljust(50, b"."))
    assert first.get(ticket.upload_id) == b"50 bytes of a picture".ljust(50, b".")
    with pytest.raises(errors.NotFound):
        second.get(ticket.upload_id)
