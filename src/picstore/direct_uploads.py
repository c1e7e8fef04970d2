"""Direct uploads: the browser sends the file somewhere other than the application, then asks to publish it.

1. :meth:`DirectUploads.create` records an upload and says where to POST the file: with an incoming
   store that signs POST policies (:class:`~picstore.blobs.base.DirectPost`: S3), a presigned POST
   straight to the bucket, whose policy fixes the exact incoming key, the byte range, the
   declared content type (one of the formats ingest accepts) and an expiry of at most 15 minutes; with
   any other store, a URL on picstore itself (:meth:`DirectUploads.receive`) taking the same multipart
   form, whose fields are checked before its file is read.
2. The file lands in the *incoming* store, a location nothing serves (:func:`incoming_location`).
3. :meth:`DirectUploads.complete` runs the whole ingest on it through :meth:`ImageStore.put`, publishes
   the image and deletes the incoming object. Nothing uploaded this way is public before it passes.

Expired uploads and any incoming objects they left are removed by :meth:`DirectUploads.sweep`, which
:meth:`create` runs as it goes, so no scheduler is needed.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from picstore.blobs.base import BlobStore, DirectPost, Encloses, IncomingSibling
from picstore.blobs.registry import open_blob_store
from picstore.catalog.clock import now_us
from picstore.catalog.upload_records import UploadRecord
from picstore.errors import (
    ConfigError,
    Conflict,
    EmptyFile,
    Forbidden,
    ImageRejected,
    InvalidRequest,
    NotAnImage,
    NotFound,
    PicstoreError,
    TooLarge,
    UnsupportedFormat,
)
from picstore.formats import UPLOAD_CONTENT_TYPES, is_image_content_type
from picstore.keys import clean_filename, new_id
from picstore.models import Image, Tenant
from picstore.store import ImageStore, TenantRef

log = logging.getLogger(__name__)

#: Where picstore receives the file of a direct upload when the incoming store cannot sign a POST (the web
#: layer serves it).
RECEIVE_PATH = "/v1/uploads/{upload_id}/file"
#: Rows and leftovers of uploads are kept this long past their expiry, so a retried ``complete`` still
#: finds the image it made.
SWEEP_GRACE_SECONDS = 3600
_IDEMPOTENCY_PREFIX = "upload:"
#: What :func:`~picstore.keys.new_id` makes: checked before a client's upload id reaches the catalog.
_UPLOAD_ID = re.compile(r"[a-z2-7]{1,64}")


@dataclass(frozen=True)
class UploadTicket:
    """What a client needs to send its file: POST ``fields`` then ``file`` as multipart to ``url``."""

    upload_id: str
    url: str
    fields: dict[str, str]
    expires_at: datetime


def incoming_location(store: ImageStore) -> BlobStore:
    """The store direct uploads wait in: ``settings.upload_incoming``, or the image store's sibling.

    The sibling is the backend's own choice (:class:`~picstore.blobs.base.IncomingSibling`): beside a file
    store the directory ``<root>-incoming`` (a web server in front of the blob directory never reaches it);
    beside ``s3://bucket/prefix`` it is ``s3://bucket/incoming/prefix``, outside the prefix that the
    public-read policy opens. Whichever it is, it must not lie inside the image store
    (:func:`check_incoming`): a bucket opened whole and public, or a store prefix the default would nest
    in (``s3://bucket/incoming``), needs ``PICSTORE_UPLOAD_INCOMING`` set to a private place.
    """
    configured = store.settings.upload_incoming
    blobs = store.blobs
    incoming: BlobStore
    if configured:
        incoming = open_blob_store(configured, store.settings)
    elif isinstance(blobs, IncomingSibling):
        incoming = blobs.incoming_sibling()
    else:
        raise ConfigError(f"direct uploads are not supported with {blobs.url}; set PICSTORE_UPLOAD_INCOMING")
    check_incoming(incoming, blobs)
    return incoming


def check_incoming(incoming: BlobStore, blobs: BlobStore) -> None:
    """Refuse an incoming location that the image store's public URLs (or its web server) could reach.

    That is the image store itself, or anything the image store says it encloses
    (:class:`~picstore.blobs.base.Encloses`: a directory inside a file store's root, a prefix inside the
    public prefix of a bucket, any prefix of a bucket readable as a whole).
    """
    fix = "set PICSTORE_UPLOAD_INCOMING to a private location outside it"
    if incoming.url == blobs.url:
        raise ConfigError(f"the incoming location {incoming.url} is the image store itself: {fix}")
    if isinstance(blobs, Encloses) and (how := blobs.encloses(incoming)) is not None:
        raise ConfigError(f"{how}: {fix}")


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class DirectUploads:
    """Create, receive and complete direct uploads for one :class:`ImageStore`."""

    def __init__(self, store: ImageStore, incoming: BlobStore | None = None) -> None:
        self.store = store
        self.catalog = store.catalog.uploads
        self._given = incoming
        #: The incoming store derived for the write target whose URL is the key.
        self._derived: tuple[str, BlobStore] | None = None

    @property
    def incoming(self) -> BlobStore:
        """The store new incoming files wait in: the one given, else the write target's (derived on first
        use, so a misconfiguration only affects direct uploads, and again after ``picstore storage use``
        moves the write target, so new uploads go straight to the new bucket with no restart). Uploads
        already under way keep the location recorded with them."""
        if self._given is not None:
            return self._given
        target = self.store.blobs.url
        if self._derived is None or self._derived[0] != target:
            self._derived = (target, incoming_location(self.store))
        return self._derived[1]

    def _store_for(self, url: str) -> BlobStore:
        return self.incoming if url == self.incoming.url else self.store.store_for(url)

    # --- the three steps ---------------------------------------------------------------------------

    def create(
        self, tenant: TenantRef, *, filename: str | None, content_type: str, size: int
    ) -> UploadTicket:
        """Record an upload of ``size`` bytes of ``content_type`` and say where to send it."""
        owner = self.store.tenant(tenant)
        if not is_image_content_type(content_type):
            accepted = ", ".join(sorted(UPLOAD_CONTENT_TYPES))
            if content_type.startswith("image/"):
                raise UnsupportedFormat(
                    f"content_type {content_type!r} is not accepted; use one of {accepted}"
                )
            raise NotAnImage(f"content_type {content_type!r} is not an image type; use one of {accepted}")
        limit = self.store.settings.max_bytes
        if size < 1:
            raise InvalidRequest("bytes must be the size of the file, at least 1")
        if size > limit:
            raise TooLarge(f"the upload would be {size:,} bytes; the limit is {limit:,}")
        filename = clean_filename(filename)
        self.sweep()
        upload_id = new_id()
        ttl = self.store.settings.upload_ttl
        incoming = self.incoming
        # A store that signs POST policies takes the file itself; any other is sent it through picstore.
        token = None if isinstance(incoming, DirectPost) else secrets.token_urlsafe(32)
        created = now_us()
        record = UploadRecord(
            id=upload_id,
            tenant_id=owner.id,
            store=incoming.url,
            key=upload_id,
            filename=filename,
            content_type=content_type,
            max_bytes=size,
            token_hash=None if token is None else _hash_token(token),
            image_id=None,
            created_us=created,
            expires_us=created + ttl * 1_000_000,
        )
        if isinstance(incoming, DirectPost):
            post = incoming.sign_post(record.key, content_type=content_type, max_bytes=size, expires_in=ttl)
            url, fields = post.url, post.fields
        else:
            url = self.store.url_builder.base_url + RECEIVE_PATH.format(upload_id=upload_id)
            # The shape of an S3 POST policy's fields, so one browser upload works with either store.
            fields = {"key": record.key, "Content-Type": content_type, "token": token or ""}
        self.catalog.add(record)
        return UploadTicket(upload_id=upload_id, url=url, fields=fields, expires_at=record.expires_at)

    def pending(self, upload_id: str) -> UploadRecord:
        """The upload picstore is to receive the file of (for a non-S3 store); NotFound otherwise."""
        record = self.catalog.get(upload_id)
        if record.token_hash is None:
            raise NotFound(f"upload {upload_id!r} is not received here: post the file to its url")
        return record

    @staticmethod
    def check_form(record: UploadRecord, *, token: str, content_type: str | None) -> None:
        """The checks of an S3 POST policy that need no file: token, expiry, not yet complete, content type.

        Cheap and without I/O, so the web layer runs them on the form's fields before reading its file.
        """
        if not hmac.compare_digest(_hash_token(token), record.token_hash or ""):
            raise Forbidden("the form token does not match this upload (send the fields before the file)")
        if record.expired():
            raise Forbidden(f"upload {record.id} expired at {record.expires_at.isoformat()}")
        if record.image_id is not None:
            raise Conflict(f"upload {record.id} is already complete")
        if content_type != record.content_type:
            raise Forbidden(f"the form's Content-Type must be {record.content_type!r}, as declared")

    def receive(self, upload_id: str, *, token: str, content_type: str | None, data: bytes) -> None:
        """Take the file of an upload posted to picstore; the same checks as an S3 POST policy."""
        record = self.pending(upload_id)
        self.check_form(record, token=token, content_type=content_type)
        if not data:
            raise EmptyFile(f"the file is empty; this upload takes 1 to {record.max_bytes:,} bytes")
        if len(data) > record.max_bytes:
            raise TooLarge(f"the file is {len(data):,} bytes; this upload takes 1 to {record.max_bytes:,}")
        self._store_for(record.store).put(
            record.key, data, content_type=record.content_type, mode="overwrite"
        )

    def complete(self, upload_id: str, tenant: TenantRef, *, alt: str | None = None) -> Image:
        """Ingest the uploaded file, publish it as an image of ``tenant`` and delete the incoming object.

        Another tenant's upload is NotFound. A refused file raises its ImageRejected and is deleted. A
        retried ``complete`` answers with the same image.
        """
        owner: Tenant = self.store.tenant(tenant)
        record = self.catalog.get(upload_id)
        if record.tenant_id != owner.id:
            raise NotFound(f"no upload {upload_id!r}")
        incoming = self._store_for(record.store)
        if record.image_id is not None:
            # A crash may have come between publishing and deleting the incoming object: finish that.
            incoming.delete(record.key)
            return self.store.get(record.image_id, owner)
        try:
            data = incoming.get(record.key)
        except NotFound:
            raise Conflict(f"nothing was uploaded for {upload_id} yet: POST the file to its url") from None
        try:
            if len(data) > record.max_bytes:  # the POST policy enforces this; checked again all the same
                raise TooLarge(f"the file is {len(data):,} bytes; {record.max_bytes:,} were declared")
            image = self.store.put(
                data,
                owner,
                record.filename,
                alt=alt,
                idempotency_key=_IDEMPOTENCY_PREFIX + record.id,
            )
        except ImageRejected:
            incoming.delete(record.key)
            raise
        self.catalog.complete(record.id, image.id)
        incoming.delete(record.key)
        return image

    def completed(self, upload_id: str, tenant: TenantRef) -> Image:
        """The image that ``tenant``'s finished upload ``upload_id`` became: how an application checks the
        upload id a browser hands it (a form whose file went straight to the bucket) before using it.

        An unknown id, another tenant's upload, an upload forgotten since it expired, or an image deleted
        since, is NotFound; an upload whose ``complete`` has not run (nothing checked, nothing published)
        is Conflict. Only ids picstore itself made can pass, so a forged one is refused here.
        """
        owner: Tenant = self.store.tenant(tenant)
        gone = NotFound(
            f"no upload {upload_id[:64]!r} (uploads are forgotten once they expire): upload the picture again"
        )
        if _UPLOAD_ID.fullmatch(upload_id) is None:
            raise gone
        try:
            record = self.catalog.get(upload_id)
        except NotFound:
            raise gone from None
        if record.tenant_id != owner.id:
            raise gone
        if record.image_id is None:
            raise Conflict(
                f"upload {upload_id} is not complete (its picture was not checked): upload the picture again"
            )
        return self.store.get(record.image_id, owner)

    def sweep(self, grace_seconds: float = SWEEP_GRACE_SECONDS, limit: int = 100) -> int:
        """Forget uploads expired more than ``grace_seconds`` ago and delete what they left; returns how many.

        Failures are logged and left for the next sweep: cleaning up must never fail an upload.
        """
        swept = 0
        for record in self.catalog.expired(now_us() - int(grace_seconds * 1_000_000), limit):
            try:
                self._store_for(record.store).delete(record.key)
                self.catalog.forget(record.id)
                swept += 1
            except PicstoreError as exc:
                log.warning("could not sweep upload %s: %s", record.id, exc)
        return swept


def is_reserved_idempotency_key(key: str) -> bool:
    """Keys of this form belong to direct uploads; clients must not send them."""
    return key.startswith(_IDEMPOTENCY_PREFIX)
