"""picstore's one exception tree.

Every error carries a stable snake_case ``code`` (what clients branch on), an ``http_status`` (what the
API answers) and a message a person can act on. Errors that have a natural built-in counterpart also
subclass it, so ``except FileNotFoundError`` keeps working for callers who think in built-ins.
"""

from __future__ import annotations


class PicstoreError(Exception):
    """Base of every error picstore raises on purpose."""

    code: str = "error"
    http_status: int = 500

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.default_message())
        self.message = str(self)

    @classmethod
    def default_message(cls) -> str:
        return (cls.__doc__ or cls.__name__).strip().splitlines()[0]

    def to_dict(self) -> dict[str, str]:
        """The JSON body the CLI and the API print for this error."""
        return {"code": self.code, "message": self.message}


# --- refusals of an upload -------------------------------------------------------------------------


class ImageRejected(PicstoreError):
    """The upload was refused."""

    code = "image_rejected"
    http_status = 422


class NotAnImage(ImageRejected):
    """The data is not an image."""

    code = "not_an_image"
    http_status = 415


class UnsupportedFormat(ImageRejected):
    """The image format is not accepted."""

    code = "unsupported_format"
    http_status = 415


class TooManyPixels(ImageRejected):
    """The image declares more pixels or frames than the limits allow."""

    code = "too_many_pixels"
    http_status = 422


class TooMuchWork(ImageRejected):
    """Processing the image would take more work than the per-upload budget allows."""

    code = "too_much_work"
    http_status = 422


class IngestTimeout(ImageRejected):
    """Processing the image took longer than the per-upload time budget and was stopped."""

    code = "ingest_timeout"
    http_status = 422


class TooLarge(ImageRejected):
    """The upload is larger than the byte limit."""

    code = "too_large"
    http_status = 413


class CorruptImage(ImageRejected):
    """The image data is corrupt and cannot be decoded."""

    code = "corrupt_image"
    http_status = 422


class TruncatedImage(CorruptImage):
    """The image data ends before the image does."""

    code = "truncated_image"
    http_status = 422


# --- lookups, access, input ------------------------------------------------------------------------


class NotFound(PicstoreError, FileNotFoundError):
    """No such object."""

    code = "not_found"
    http_status = 404


class AlreadyExists(PicstoreError, FileExistsError):
    """An object with this key already exists."""

    code = "already_exists"
    http_status = 409


class InvalidKey(PicstoreError, ValueError):
    """The blob key is malformed."""

    code = "invalid_key"
    http_status = 400


class InvalidRequest(PicstoreError, ValueError):
    """The request is malformed."""

    code = "invalid_request"
    http_status = 400


class UsageError(InvalidRequest):
    """The command line is not one picstore understands; see the command's --help."""

    code = "usage_error"
    http_status = 400


class EmptyFile(InvalidRequest):
    """The file is empty (0 bytes); send the picture's bytes."""

    code = "empty_file"
    http_status = 400


class RangeNotSatisfiable(InvalidRequest):
    """The requested byte range lies outside the blob; ask for a range within its size."""

    code = "range_not_satisfiable"
    http_status = 416

    def __init__(self, message: str | None = None, *, size: int = 0) -> None:
        super().__init__(message)
        #: The blob's size in bytes, for ``Content-Range: bytes */size``.
        self.size = size


class RateLimited(PicstoreError):
    """Too many requests with this key; slow down and retry after the time given."""

    code = "rate_limited"
    http_status = 429

    def __init__(self, message: str | None = None, *, retry_after: float = 1.0) -> None:
        super().__init__(message)
        #: Seconds until a request would be accepted again (``Retry-After``).
        self.retry_after = retry_after


class TooManyAuthFailures(RateLimited):
    """Too many failed sign-ins or invalid keys from this address; wait before trying again."""

    code = "too_many_auth_failures"
    http_status = 429


class NoTenant(InvalidRequest):
    """No tenant for this file: its path does not match the --tenant-from pattern."""

    code = "no_tenant"
    http_status = 400


class Unauthorized(PicstoreError):
    """A valid API key is required."""

    code = "unauthorized"
    http_status = 401


class Forbidden(PicstoreError, PermissionError):
    """This key may not do that."""

    code = "forbidden"
    http_status = 403


class Conflict(PicstoreError):
    """The request conflicts with the current state."""

    code = "conflict"
    http_status = 409


# --- configuration and backends --------------------------------------------------------------------


class ConfigError(PicstoreError, ValueError):
    """The configuration is invalid."""

    code = "config_error"
    http_status = 500


class StoreNotFound(ConfigError):
    """There is no picstore store where the configuration points."""

    code = "store_not_found"
    http_status = 500


class StorageError(PicstoreError):
    """The blob store failed."""

    code = "storage_error"
    http_status = 502


class StorageMisconfigured(StorageError):
    """The blob store refuses every request: its bucket is missing or its credentials are refused.

    Retrying cannot help (every blob would fail the same way): fix the configuration first.
    """

    code = "storage_misconfigured"
    http_status = 502


class StorageUnavailable(StorageError):
    """The blob store is unavailable; try again later."""

    code = "storage_unavailable"
    http_status = 503


class StorageFull(StorageError):
    """The blob store is out of space; nothing was stored. Operators: free space or move blobs to S3."""

    code = "storage_full"
    http_status = 507


class IntegrityError(StorageError):
    """Stored bytes do not match their recorded size or hash."""

    code = "integrity_error"
    http_status = 500


class CatalogUnavailable(PicstoreError):
    """The catalog database is unavailable; try again later."""

    code = "catalog_unavailable"
    http_status = 503


# --- transforms (``/t/`` URLs) ---------------------------------------------------------------------


class InvalidTransform(InvalidRequest):
    """The transform spec is not valid."""

    code = "invalid_transform"
    http_status = 400


class NonCanonicalTransform(InvalidTransform):
    """The transform spec is not written in its one canonical spelling."""

    code = "non_canonical_transform"
    http_status = 400


class InvalidSignature(Forbidden):
    """The transform URL's signature does not match any signing key."""

    code = "invalid_signature"
    http_status = 403


class ExpiredUrl(Forbidden):
    """The transform URL has expired."""

    code = "expired_url"
    http_status = 403


class TransformsDisabled(Forbidden):
    """Transforms are not enabled on this server (no signing key is configured)."""

    code = "transforms_disabled"
    http_status = 403


class PresetOnly(Forbidden):
    """This server renders only the configured transform presets."""

    code = "preset_only"
    http_status = 403


class TransformTooLarge(ImageRejected):
    """The transform asks for more pixels or work than the limits allow."""

    code = "transform_too_large"
    http_status = 422


class RenderFailed(PicstoreError):
    """The stored image could not be rendered; operators: check it with `picstore verify`."""

    code = "render_failed"
    http_status = 500
