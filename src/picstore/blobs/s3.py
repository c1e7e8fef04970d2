"""``s3://bucket/prefix``: blobs in any S3-compatible object store (AWS S3, Ceph RGW, MinIO, R2), on obstore.

What this adds to obstore:

- Create-only writes are ``PUT`` with ``If-None-Match: *``, retried by :meth:`S3Store.put` itself (not by
  obstore), so it knows what each attempt met. A create that meets an existing object after every earlier
  attempt was answered (a 503 stores nothing) raises :class:`AlreadyExists`; after a broken connection
  (the attempt may have been stored, its answer lost) it is a success only if the object has the same
  size and SHA-256 (kept as ``x-amz-meta-sha256``), otherwise :class:`AlreadyExists`.
- obstore does not retry a ``PUT`` or ``POST`` (a delete is a bulk-delete ``POST``) whose connection
  broke, nor a listing page whose body is cut off: :meth:`S3Store.delete` retries, a listing resumes.
- Reads are checked: a body shorter than announced, or whose SHA-256 differs from the recorded one, raises
  instead of returning wrong bytes.
- Every object carries its Content-Type and ``Cache-Control: public, max-age=31536000, immutable``
  (keys are content addresses, so a URL never changes meaning).
- :meth:`S3Store.public_url` hands out a CDN URL, a presigned GET URL or the plain object URL.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING, BinaryIO

import obstore
from obstore.exceptions import AlreadyExistsError, BaseError
from obstore.store import S3Store as _ObstoreS3

from picstore.blobs.base import (
    IMMUTABLE_CACHE_CONTROL,
    BlobStore,
    PresignedPost,
    PutMode,
    SetupResult,
    matches,
    validate_key,
    validate_prefix,
)
from picstore.blobs.s3_config import ProfileCredentials, S3Options, resolve
from picstore.blobs.s3_errors import translate, translated
from picstore.blobs.s3_retry import Attempts
from picstore.blobs.s3_retry import RetryPolicy as RetryPolicy
from picstore.errors import (
    AlreadyExists,
    ConfigError,
    IntegrityError,
    InvalidRequest,
    NotFound,
    StorageUnavailable,
)
from picstore.formats import content_type_for_key
from picstore.models import BlobInfo

if TYPE_CHECKING:
    from obstore import GetResult, ObjectMeta
    from obstore.store import ClientConfig

    from picstore.blobs.s3_post import PostSigner

#: User metadata holding the SHA-256 of the object's bytes (sent as ``x-amz-meta-sha256``).
SHA256_ATTRIBUTE = "sha256"
#: Above this size an overwrite goes up in parts; a create is always one PUT, the only request that can
#: carry ``If-None-Match`` (S3 takes up to 5 GiB in one PUT, far above picstore's upload limits).
MULTIPART_CHUNK = 8 * 1024 * 1024


class S3Store:
    """A :class:`~picstore.blobs.base.BlobStore` on an S3 bucket, under an optional key prefix."""

    def __init__(
        self, options: S3Options, *, retry: RetryPolicy | None = None, url: str | None = None
    ) -> None:
        """Open the store described by ``options``; no request is made until the first operation."""
        self.options = options
        self.retry = retry or RetryPolicy()
        self.url = url or f"s3://{options.bucket}/{options.prefix}".rstrip("/")
        self._signer: PostSigner | None = None
        client: ClientConfig = {
            "allow_http": bool(options.endpoint and options.endpoint.startswith("http://")),
            "connect_timeout": timedelta(seconds=self.retry.connect_timeout),
            "timeout": timedelta(seconds=self.retry.timeout),
        }
        provider = None
        if options.profile and not options.access_key_id:
            provider = ProfileCredentials(options.profile)
        try:
            self._store, self._creates = (
                _ObstoreS3(
                    options.bucket,
                    prefix=options.prefix or None,
                    client_options=client,
                    retry_config=retry_config,
                    credential_provider=provider,
                    **options.obstore_config(),
                )
                # Creates are retried by put() itself, which must know what each attempt met.
                for retry_config in (self.retry.obstore_retry(), self.retry.obstore_retry(max_retries=0))
            )
        except (BaseError, ValueError) as exc:
            raise ConfigError(f"cannot open {options.where}: {exc}") from exc

    @classmethod
    def from_url(
        cls,
        url: str,
        settings: object | None = None,
        *,
        credentials: tuple[str, str] | None = None,
        retry: RetryPolicy | None = None,
    ) -> S3Store:
        """The store for ``s3://bucket/prefix``; endpoint, region, addressing and URL style come from
        ``settings`` (``s3_endpoint``, ``s3_region``, ``s3_path_style``, ``s3_public_url``, ``s3_presign``,
        ``s3_presign_ttl``) and the standard AWS variables and files. ``credentials`` (access key, secret)
        override those, for tests and tools."""
        options = resolve(url, settings)
        if credentials is not None:
            options = replace(options, access_key_id=credentials[0], secret_access_key=credentials[1])
        return cls(options, retry=retry, url=url)

    def __repr__(self) -> str:
        return f"S3Store({self.url!r}, endpoint={self.options.endpoint!r})"

    @property
    def where(self) -> str:
        return self.options.where

    # --- writing -----------------------------------------------------------------------------------

    def put(self, key: str, data: bytes, *, content_type: str, mode: PutMode = "create") -> BlobInfo:
        """Store ``data`` at ``key``. ``mode="create"`` raises :class:`AlreadyExists` if the key exists."""
        validate_key(key)
        if mode not in ("create", "overwrite"):
            raise InvalidRequest(f"unknown put mode {mode!r}: use 'create' or 'overwrite'")
        digest = hashlib.sha256(data).hexdigest()
        attributes = {
            "Content-Type": content_type,
            "Cache-Control": IMMUTABLE_CACHE_CONTROL,
            SHA256_ATTRIBUTE: digest,
        }
        attempts = Attempts(self.retry)
        creating = mode == "create"
        while True:
            try:
                result = obstore.put(
                    self._creates if creating else self._store,
                    key,
                    data,
                    attributes=attributes,
                    mode=mode,
                    chunk_size=MULTIPART_CHUNK,
                )
                return BlobInfo(key=key, size=len(data), content_type=content_type, etag=result["e_tag"])
            except AlreadyExistsError as exc:
                if not attempts.ambiguous:  # every earlier attempt was answered, so stored nothing
                    raise translate(exc, "put", key, self.where) from exc
                # After a broken connection: ours, if that attempt was stored and only its answer lost.
                try:
                    meta, attrs = self._head(key)
                except NotFound:  # deleted since: try the create again
                    if not attempts.again(exc, vanished=True):
                        raise translate(exc, "put", key, self.where) from exc
                    continue
                if meta["size"] == len(data) and attrs.get(SHA256_ATTRIBUTE) == digest:
                    return self._info(key, meta, attrs)
                raise AlreadyExists(f"blob {key!r} already exists in {self.where}") from exc
            except (BaseError, OSError) as exc:
                if not attempts.again(exc, statuses=creating):
                    raise translate(exc, "put", key, self.where) from exc

    def delete(self, key: str) -> None:
        """Remove ``key``; removing a missing key is not an error."""
        validate_key(key)
        attempts = Attempts(self.retry)
        while True:
            try:
                obstore.delete(self._store, key)
                return
            except (BaseError, OSError) as exc:
                # obstore sends a delete as a bulk-delete POST, which it does not retry when the connection
                # breaks; a delete is idempotent, so try again (found by the fault-proxy tier).
                if not attempts.again(exc, statuses=False):
                    raise translate(exc, "delete", key, self.where) from exc

    # --- reading -----------------------------------------------------------------------------------

    def get(self, key: str) -> bytes:
        """The bytes at ``key``, checked against the announced size and the recorded SHA-256."""
        validate_key(key)
        with translated("get", key, self.where):
            result = obstore.get(self._store, key)
            data = result.bytes().to_bytes()
        self._check(key, result, data)
        return data

    def open(self, key: str) -> BinaryIO:
        """A binary file over the blob's (checked) bytes."""
        return io.BytesIO(self.get(key))

    def head(self, key: str) -> BlobInfo:
        """Size, content type, ETag and modification time of ``key``."""
        validate_key(key)
        return self._info(key, *self._head(key))

    def list(self, prefix: str = "") -> Iterator[BlobInfo]:
        """Blobs whose key starts with ``prefix`` (a plain string prefix, as in S3), sorted by key."""
        validate_prefix(prefix)
        # obstore lists whole path segments ("a" finds "a/x", not "ab"): list the enclosing directory
        # and keep the keys that start with the string prefix.
        directory = prefix if prefix.endswith("/") else prefix.rpartition("/")[0]
        return self._list(directory.rstrip("/"), prefix)

    def public_url(self, key: str) -> str | None:
        """The URL a browser fetches ``key`` from: ``{s3_public_url}/{key}`` when a CDN base is set, else a
        presigned GET URL when ``s3_presign`` is on (private bucket), else the plain object URL (readable
        once ``picstore s3 setup`` has applied the public-read bucket policy)."""
        validate_key(key)
        if self.options.public_base_url:
            return f"{self.options.public_base_url}/{key}"
        if self.options.presign:
            with translated("sign", key, self.where):
                return obstore.sign(self._store, "GET", key, timedelta(seconds=self.options.presign_ttl))
        return self.options.object_url(key)

    def close(self) -> None:
        """Nothing to release: obstore's connection pool goes with the object."""

    # --- abilities (picstore.blobs.base) ------------------------------------------------------------

    def sign_post(self, key: str, *, content_type: str, max_bytes: int, expires_in: int) -> PresignedPost:
        """A presigned POST policy for exactly ``key`` (see :class:`~picstore.blobs.s3_post.PostSigner`)."""
        if self._signer is None:
            from picstore.blobs.s3_post import PostSigner

            self._signer = PostSigner(self.options)
        return self._signer.sign(key, content_type=content_type, max_bytes=max_bytes, expires_in=expires_in)

    def incoming_sibling(self) -> S3Store:
        """``s3://bucket/incoming/<prefix>``: the same bucket, endpoint and credentials (they may have been
        given in code), outside the prefix that the public-read policy opens, and never on a CDN."""
        prefix = f"incoming/{self.options.prefix}".rstrip("/")
        options = replace(self.options, prefix=prefix, public_base_url=None)
        return S3Store(options, retry=self.retry, url=f"s3://{self.options.bucket}/{prefix}")

    def encloses(self, other: BlobStore) -> str | None:
        """How ``other`` lies where this store's public reads reach, or None.

        A prefix of the same bucket inside this store's prefix (the one the public-read policy opens) is
        inside. A bucket used whole (no prefix) is public unless its URLs are presigned and no CDN base is
        set; then any prefix is private.
        """
        if not isinstance(other, S3Store):
            return None
        inner, outer = other.options, self.options
        if (inner.bucket, inner.endpoint) != (outer.bucket, outer.endpoint):
            return None
        if not outer.prefix:
            if outer.presign and outer.public_base_url is None:
                return None  # a private bucket: nothing in it is readable without a signed URL
            return (
                f"{self.url} is readable as a whole, so incoming uploads cannot be private in it "
                "(use another bucket, such as s3://other-bucket/incoming)"
            )
        if inner.prefix == outer.prefix or inner.prefix.startswith(outer.prefix + "/"):
            return (
                f"the incoming location {other.url} lies inside {self.url}, the image prefix that the "
                f"public-read policy opens (use another, such as s3://{outer.bucket}/uploads-private, or "
                "give the image store another prefix)"
            )
        return None

    def setup_bucket(self, *, public: bool | None = None) -> SetupResult:
        """Create the bucket if missing and apply the public-read policy (see :mod:`.s3_policy`)."""
        from picstore.blobs.s3_policy import setup_bucket

        return setup_bucket(self, public=public)

    # --- helpers -----------------------------------------------------------------------------------

    def _head(self, key: str) -> tuple[ObjectMeta, dict[str, str]]:
        # A GET with head=True is a HEAD that, unlike obstore.head, also returns the object's attributes.
        with translated("head", key, self.where):
            result = obstore.get(self._store, key, options={"head": True})
            return result.meta, dict(result.attributes)

    def _info(self, key: str, meta: ObjectMeta, attributes: dict[str, str]) -> BlobInfo:
        return BlobInfo(
            key=key,
            size=meta["size"],
            content_type=attributes.get("Content-Type"),
            etag=meta["e_tag"],
            last_modified=meta["last_modified"],
        )

    def _list(self, directory: str, prefix: str) -> Iterator[BlobInfo]:
        # obstore retries a page request that fails, not a page whose body is cut off: resume after the
        # last key seen (S3 lists in key order).
        attempts = Attempts(self.retry)
        last: str | None = None
        while True:
            try:
                for chunk in obstore.list(self._store, directory or None, offset=last):
                    for meta in chunk:
                        key = last = meta["path"]
                        if key.startswith(prefix):
                            yield BlobInfo(
                                key=key,
                                size=meta["size"],
                                # A listing has no content types; picstore's keys end in the format's.
                                content_type=content_type_for_key(key),
                                etag=meta["e_tag"],
                                last_modified=meta["last_modified"],
                            )
                return
            except (BaseError, OSError) as exc:
                if not attempts.again(exc, statuses=False):
                    raise translate(exc, "list", prefix, self.where) from exc

    def _check(self, key: str, result: GetResult, data: bytes) -> None:
        # reqwest notices a connection cut before Content-Length and obstore resumes with a Range request;
        # these checks are the last line, so that short or altered bytes are never returned as the blob.
        if not matches(data, size=result.meta["size"], sha256=None):
            raise StorageUnavailable(
                f"{self.where}: read {len(data)} of {result.meta['size']} bytes of {key!r}; try again later"
            )
        recorded = result.attributes.get(SHA256_ATTRIBUTE)
        if recorded and not matches(data, sha256=recorded):
            raise IntegrityError(f"{self.where}: {key!r} does not match its recorded SHA-256")
