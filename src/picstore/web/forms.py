"""Reading an upload form (``multipart/form-data``) as it streams in, into a spooled temp file.

The whole body is never in memory: the file part goes to a :class:`~tempfile.SpooledTemporaryFile` that
moves to disk past 1 MiB, and reading stops with 413 the moment the file passes its cap. The form itself is
bounded too: a few text fields of modest size, one file, part headers of bounded size and number (a form
with 10,000 parts or a 50 MB text field is refused early). Byte caps and time limits on the body as a
whole are :mod:`picstore.web.limits`' job; this module adds the per-part rules.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import IO, BinaryIO, cast

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from picstore.errors import InvalidRequest, TooLarge

#: Longest multipart boundary accepted: RFC 2046 allows 70 characters (browsers send about 40).
MAX_BOUNDARY = 70

#: Bytes of the file kept in memory before the spool moves to disk.
SPOOL_BYTES = 1024 * 1024


@dataclass(frozen=True)
class FormRules:
    """What one upload form may hold."""

    #: Largest file, in bytes (413 beyond it).
    max_file_bytes: int
    #: Names of the text fields accepted besides ``file``; any other field is refused.
    fields: frozenset[str] = frozenset()
    #: Largest text field, in bytes.
    max_field_bytes: int = 16 * 1024
    #: The name of the file part.
    file_field: str = "file"
    #: Called with the text fields read so far when the file part begins: raise to refuse the form before
    #: a byte of the file is read (a direct upload's token and type, sent before the file as in S3).
    before_file: Callable[[Mapping[str, str]], None] | None = None

    @property
    def max_parts(self) -> int:
        """The most parts a form may have: each text field once, and the file."""
        return len(self.fields) + 1


@dataclass
class UploadForm:
    """The text fields and the spooled file of one form. Close it (or use ``with``) to free the file."""

    fields: dict[str, str] = field(default_factory=dict)
    file: IO[bytes] | None = None
    filename: str | None = None
    file_bytes: int = 0

    @property
    def stream(self) -> BinaryIO:
        """The file part, rewound (:func:`read_form` guarantees there is one)."""
        if self.file is None:
            raise InvalidRequest("the form has no file part")
        return cast(BinaryIO, self.file)

    def close(self) -> None:
        """Free the spooled file (and its disk space, if it went to disk)."""
        if self.file is not None:
            self.file.close()

    def __enter__(self) -> UploadForm:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class _Collector:
    """Callbacks for python-multipart's streaming parser: route each part's bytes, enforce the rules."""

    def __init__(self, rules: FormRules) -> None:
        self.rules = rules
        self.form = UploadForm()
        self.parts = 0
        self._header_name = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self._name: str | None = None
        self._is_file = False
        self._value = bytearray()
        self.ended = False

    def on_end(self) -> None:
        self.ended = True

    def on_part_begin(self) -> None:
        self.parts += 1
        if self.parts > self.rules.max_parts:
            raise InvalidRequest(f"the form has more than {self.rules.max_parts} parts")
        self._headers = {}

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        self._headers[self._header_name.lower()] = self._header_value
        self._header_name = self._header_value = b""

    def on_headers_finished(self) -> None:
        disposition, params = parse_options_header(self._headers.get(b"content-disposition", b""))
        name = params.get(b"name")
        if disposition != b"form-data" or name is None:
            raise InvalidRequest("every form part needs Content-Disposition: form-data with a name")
        self._name = name.decode("utf-8", "replace")
        self._is_file = self._name == self.rules.file_field
        if self._is_file:
            if self.form.file is not None:
                raise InvalidRequest(f"the form has more than one {self.rules.file_field!r} part")
            if self.rules.before_file is not None:
                self.rules.before_file(dict(self.form.fields))
            filename = params.get(b"filename")
            self.form.filename = filename.decode("utf-8", "replace") if filename else None
            self.form.file = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - UploadForm closes it
        elif self._name not in self.rules.fields:
            allowed = ", ".join(sorted({*self.rules.fields, self.rules.file_field}))
            raise InvalidRequest(f"unexpected form field {self._name!r}; this form takes {allowed}")
        elif self._name in self.form.fields:
            raise InvalidRequest(f"the form field {self._name!r} is repeated")
        self._value = bytearray()

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        size = end - start
        if self._is_file:
            assert self.form.file is not None
            self.form.file_bytes += size
            if self.form.file_bytes > self.rules.max_file_bytes:
                raise TooLarge(f"the file is larger than the limit of {self.rules.max_file_bytes:,} bytes")
            self.form.file.write(data[start:end])
        else:
            if len(self._value) + size > self.rules.max_field_bytes:
                raise InvalidRequest(
                    f"form field {self._name!r} is over {self.rules.max_field_bytes:,} bytes"
                )
            self._value += data[start:end]

    def on_part_end(self) -> None:
        if not self._is_file and self._name is not None:
            try:
                self.form.fields[self._name] = self._value.decode("utf-8")
            except UnicodeDecodeError:
                raise InvalidRequest(f"form field {self._name!r} is not UTF-8 text") from None


async def read_form(request: Request, rules: FormRules) -> UploadForm:
    """Parse the request's multipart body by ``rules``; the form must hold the file part."""
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise InvalidRequest("send multipart/form-data with the image in a part named 'file'")
    if len(boundary) > MAX_BOUNDARY:
        raise InvalidRequest(f"the multipart boundary is {len(boundary)} characters; RFC 2046 allows 1 to 70")
    collector = _Collector(rules)
    try:
        parser = MultipartParser(
            boundary,
            {
                "on_part_begin": collector.on_part_begin,
                "on_part_data": collector.on_part_data,
                "on_part_end": collector.on_part_end,
                "on_header_field": collector.on_header_field,
                "on_header_value": collector.on_header_value,
                "on_header_end": collector.on_header_end,
                "on_headers_finished": collector.on_headers_finished,
                "on_end": collector.on_end,
            },
            max_header_count=8,
            max_header_size=4096,
        )
        async for chunk in request.stream():
            if chunk:
                parser.write(chunk)
        parser.finalize()
    except FormParserError as exc:
        # Every error python-multipart raises (framing, limits, its own checks) is the client's.
        collector.form.close()
        raise InvalidRequest(f"malformed multipart body: {exc}") from None
    except BaseException:
        collector.form.close()
        raise
    form = collector.form
    if not collector.ended:
        form.close()
        # python-multipart does not check this itself: a cut body would pass as a shorter file.
        raise InvalidRequest("the multipart body ended before its closing boundary")
    if form.file is None:
        raise InvalidRequest(f"the form has no {rules.file_field!r} part")
    form.file.seek(0)
    return form
