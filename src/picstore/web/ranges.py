"""Byte ranges of blob answers (RFC 9110 section 14): one satisfiable ``bytes`` range is answered 206.

Invariants:

- Only a single ``bytes`` range is honoured. Anything else in ``Range`` (another unit, several ranges,
  bad syntax, a last position before the first) is ignored and the whole blob is sent with 200, as RFC
  9110 allows a server to do; so is a Range whose ``If-Range`` is not the blob's strong ETag (an
  ``If-Range`` date is never trusted: a content address has no meaningful modification time).
- A well-formed range that starts at or past the end of the blob (or asks for the last 0 bytes) is
  refused 416 ``range_not_satisfiable`` as problem+json, with ``Content-Range: bytes */<size>``.
- A 206 carries exactly the bytes its ``Content-Range`` names; positions past the end are clamped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import FileResponse, Response
from starlette.types import Receive, Scope, Send

from picstore.errors import RangeNotSatisfiable

#: Numbers with more digits than this lie beyond any blob; they are never converted (no huge ints).
_MAX_DIGITS = 18
_PAST_ANY_END = 10**_MAX_DIGITS


def _number(text: str) -> int | None:
    """A non-negative decimal as RFC 9110 writes one (ASCII digits only), or None."""
    if not text or not text.isascii() or not text.isdigit():
        return None
    return int(text) if len(text) <= _MAX_DIGITS else _PAST_ANY_END


def byte_range(
    header: str | None, size: int, *, if_range: str | None = None, etag: str = ""
) -> tuple[int, int] | None:
    """The first and last byte positions (inclusive) to send, or None to send the whole blob.

    Raises :class:`RangeNotSatisfiable` for a well-formed range that no byte of ``size`` falls in.
    """
    if header is None or (if_range is not None and if_range.strip() != etag):
        return None
    unit, equals, spec = header.partition("=")
    if not equals or unit.strip().lower() != "bytes":
        return None
    specs = [s.strip() for s in spec.split(",") if s.strip()]
    if len(specs) != 1:
        return None
    first_text, dash, last_text = specs[0].partition("-")
    if not dash:
        return None
    unsatisfiable = RangeNotSatisfiable(
        f"the range {specs[0]!r} lies outside the blob's {size:,} bytes", size=size
    )
    if first_text == "":  # a suffix: the last n bytes
        suffix = _number(last_text)
        if suffix is None:
            return None
        if suffix == 0:
            raise unsatisfiable
        # Of an empty blob even the last n bytes are nothing: the (empty) whole is the answer.
        return (max(0, size - suffix), size - 1) if size else None
    first = _number(first_text)
    last = _number(last_text) if last_text else None
    if first is None or (last_text and (last is None or last < first)):
        return None
    if first >= size:
        raise unsatisfiable
    return first, size - 1 if last is None else min(last, size - 1)


class _File(FileResponse):
    """A FileResponse whose Range decision is already made: ``span`` None sends the whole file.

    Starlette's own Range handling answers malformed headers with a text/plain 400; it only ever sees the
    one canonical range chosen by :func:`byte_range` here.
    """

    def __init__(self, path: Path, span: tuple[int, int] | None, **kwargs: Any) -> None:
        super().__init__(path, **kwargs)
        self.span = span

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(k, v) for k, v in scope["headers"] if k not in (b"range", b"if-range")]
        if self.span is not None:
            headers.append((b"range", f"bytes={self.span[0]}-{self.span[1]}".encode()))
        await super().__call__({**scope, "headers": headers}, receive, send)


def blob_response(
    request: Request,
    headers: dict[str, str],
    *,
    size: int,
    path: Path | None = None,
    body: bytes | None = None,
    stat_result: Any = None,
) -> Response:
    """The answer carrying a blob's bytes (from ``path``, or ``body`` held in memory), whole or one range.

    ``headers`` are the blob's (:func:`picstore.web.serve.blob_headers`), ETag and Content-Type included.
    """
    span = byte_range(
        request.headers.get("range"), size, if_range=request.headers.get("if-range"), etag=headers["ETag"]
    )
    # No media_type: ``headers`` carry the Content-Type, which Starlette then neither guesses nor adds.
    if path is not None:
        return _File(path, span, headers=headers, stat_result=stat_result)
    assert body is not None
    head_only = request.method == "HEAD"
    if span is None:
        length, status, chunk = len(body), 200, body
    else:
        first, last = span
        length, status, chunk = last - first + 1, 206, body[first : last + 1]
        headers = {**headers, "Content-Range": f"bytes {first}-{last}/{size}"}
    headers = {**headers, "Content-Length": str(length)}
    return Response(b"" if head_only else chunk, status_code=status, headers=headers)
