"""Turn obstore's and botocore's exceptions into picstore's error tree: the one place that knows them.

obstore raises typed errors for the cases it recognises (not found, already exists, permission) and a
``GenericError`` for everything else. Its message follows object_store's format
(``Error performing PUT <url> in 12ms, after 3 retries, ... - Server returned non-2xx status code: 503 ...``
followed by a ``Debug source:`` dump), so the HTTP status and the retry count are read from that text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from obstore.exceptions import (
    AlreadyExistsError,
    BaseError,
    InvalidPathError,
    PermissionDeniedError,
    PreconditionError,
    UnauthenticatedError,
    UnknownConfigurationKeyError,
)

from picstore.errors import (
    AlreadyExists,
    ConfigError,
    InvalidKey,
    NotFound,
    PicstoreError,
    StorageError,
    StorageMisconfigured,
    StorageUnavailable,
)

_STATUS = re.compile(r"(?:status code: |status: )(\d{3})")
_RETRIES = re.compile(r"after (\d+) retries")
_S3_CODE = re.compile(r"<Code>([A-Za-z]+)</Code>")
#: Statuses worth another try later: the server is busy or broken, not refusing this request.
_TRANSIENT = {408, 429, 500, 502, 503, 504}
#: What to set when S3 does not accept who we are, or no credentials were found at all.
CREDENTIALS_HINT = "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE for a profile in ~/.aws)"
#: With no keys in the environment or ~/.aws, obstore asks the cloud metadata services (EC2, ECS); their
#: failure is how "no credentials" shows up.
_METADATA_SERVICES = ("169.254.169.254", "169.254.170.2", "instance metadata")


def no_credentials(where: str, why: str = "") -> ConfigError:
    """The error for an S3 store that found no credentials anywhere."""
    because = f" ({why})" if why else ""
    return ConfigError(f"{where}: no S3 credentials found{because}; {CREDENTIALS_HINT}")


def http_status(exc: BaseException) -> int | None:
    """The HTTP status an obstore error came from, or None when no response arrived (transport error)."""
    match = _STATUS.search(str(exc))
    return int(match.group(1)) if match else None


def retries_made(exc: BaseException) -> int:
    """How many times obstore retried the request before giving up with ``exc``."""
    match = _RETRIES.search(str(exc))
    return int(match.group(1)) if match else 0


def is_transport_error(exc: BaseException) -> bool:
    """Whether no HTTP response was received: connection refused/reset, timeout, truncated exchange."""
    if isinstance(exc, FileNotFoundError | AlreadyExistsError | PreconditionError):
        return False
    return isinstance(exc, BaseError | OSError) and http_status(exc) is None


def is_transient_status(exc: BaseException) -> bool:
    """Whether the server answered with a status worth another try later (busy or broken, not refusing)."""
    return http_status(exc) in _TRANSIENT


def summary(exc: BaseException) -> str:
    """A one-line description of a backend error, without obstore's multi-line debug dump."""
    text = str(exc).split("Debug source:", 1)[0].strip()
    code = _S3_CODE.search(text)
    # The XML body repeats what the status and <Code> already say; keep the readable part.
    head = text.split(": <?xml", 1)[0].split("\n", 1)[0]
    if code and code.group(1) not in head:
        head = f"{head} ({code.group(1)})"
    return head if len(head) <= 300 else head[:297] + "..."


def translate(exc: BaseException, op: str, key: str, where: str) -> PicstoreError:
    """The picstore error for an obstore/OS error raised while doing ``op`` on ``key`` in ``where``."""
    if isinstance(exc, PicstoreError):
        return exc
    text = str(exc)
    status = http_status(exc)
    s3_code = _S3_CODE.search(text)
    if s3_code and s3_code.group(1) == "NoSuchBucket":
        return StorageMisconfigured(
            f"{where}: the bucket does not exist (create it, e.g. with `picstore s3 setup`)"
        )
    if isinstance(exc, FileNotFoundError):
        return NotFound(f"no blob {key!r} in {where}")
    if isinstance(exc, AlreadyExistsError | PreconditionError):
        return AlreadyExists(f"blob {key!r} already exists in {where}")
    if isinstance(exc, InvalidPathError):
        return InvalidKey(f"invalid blob key {key!r}: {summary(exc)}")
    if isinstance(exc, UnknownConfigurationKeyError):
        return ConfigError(f"{where}: {summary(exc)}")
    if any(service in text for service in _METADATA_SERVICES):
        return no_credentials(where)
    if isinstance(exc, PermissionDeniedError | UnauthenticatedError) or status in (401, 403):
        return StorageMisconfigured(
            f"{where} refused to {op} {key!r}: check the S3 credentials ({CREDENTIALS_HINT}) and the "
            f"bucket's permissions ({summary(exc)})"
        )
    if status is None or status in _TRANSIENT:
        what = "did not answer" if status is None else f"answered {status}"
        return StorageUnavailable(f"{where} {what} to {op} {key!r}; try again later ({summary(exc)})")
    return StorageError(f"{where} failed to {op} {key!r}: {summary(exc)}")


@contextmanager
def translated(op: str, key: str, where: str) -> Iterator[None]:
    """Run a block of backend calls, re-raising any obstore or OS error as a picstore error."""
    try:
        yield
    except PicstoreError:
        raise
    except (BaseError, OSError) as exc:
        raise translate(exc, op, key, where) from exc


def translate_botocore(exc: Exception, op: str, where: str) -> PicstoreError:
    """The picstore error for a botocore exception (used only for bucket administration)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error", {})
        code = str(error.get("Code", ""))
        status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        message = f"{where} refused to {op}: {code} {error.get('Message') or ''}".strip()
        if status in (401, 403) or code in ("AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
            return StorageError(f"{message} (check the S3 credentials, {CREDENTIALS_HINT}, and permissions)")
        if status in _TRANSIENT:
            return StorageUnavailable(message)
        return StorageError(message)
    if type(exc).__name__ in ("NoCredentialsError", "PartialCredentialsError"):
        return no_credentials(where, str(exc))
    if type(exc).__name__ == "ProfileNotFound":
        return ConfigError(f"{where}: {exc}")
    return StorageUnavailable(f"{where} did not answer to {op}: {exc}")
