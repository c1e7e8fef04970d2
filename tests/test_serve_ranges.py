"""Range requests on ``GET /b/{key}`` (web/ranges.py): one range is a 206, anything else the whole blob,
a range past the end a problem+json 416 with ``Content-Range: bytes */N``. On a file store and a memory
store alike, and for the rule itself at sizes an image never has (0 and 1 bytes)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from picstore.errors import RangeNotSatisfiable
from picstore.web.app import create_app
from picstore.web.ranges import byte_range
from tests.helpers import make_jpeg
from tests.http_support import make_image_store


@dataclass
class Blob:
    client: TestClient
    path: str
    data: bytes
    etag: str


@pytest.fixture(scope="module", params=["file", "memory"])
def blob(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Blob]:
    settings = {"storage": "memory://"} if request.param == "memory" else {}
    with make_image_store(tmp_path_factory.mktemp("ranges"), variants={}, **settings) as store:
        store.create_tenant("acme")
        image = store.put(make_jpeg(64, 48), "acme")
        with TestClient(create_app(store)) as client:
            yield Blob(client, f"/b/{image.key}", store.read(image.id), f'"{image.sha256}"')


def _slice(b: Blob, headers: dict[str, str], first: int, last: int) -> None:
    response = b.client.get(b.path, headers=headers)
    assert response.status_code == 206, response.text
    assert response.content == b.data[first : last + 1]
    assert response.headers["content-range"] == f"bytes {first}-{last}/{len(b.data)}"
    assert response.headers["content-length"] == str(last - first + 1)
    assert response.headers["etag"] == b.etag
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"


def _whole(b: Blob, headers: dict[str, str]) -> None:
    # As bytes (latin-1, as a server reads them): httpx refuses non-ASCII str header values.
    response = b.client.get(b.path, headers={k: v.encode("latin-1") for k, v in headers.items()})
    assert response.status_code == 200, response.text
    assert response.content == b.data
    assert "content-range" not in response.headers


def test_a_single_range_is_a_slice(blob: Blob) -> None:
    n = len(blob.data)
    _slice(blob, {"Range": "bytes=10-19"}, 10, 19)
    _slice(blob, {"Range": "bytes=0-0"}, 0, 0)
    _slice(blob, {"Range": f"bytes={n - 1}-"}, n - 1, n - 1)
    _slice(blob, {"Range": "bytes=5-"}, 5, n - 1)
    _slice(blob, {"Range": f"bytes=3-{n + 500}"}, 3, n - 1)  # a last position past the end is clamped
    _slice(blob, {"Range": "Bytes = 2-4 "}, 2, 4)  # the unit is case-insensitive; spaces around are fine
    _slice(blob, {"Range": "bytes=2-4,"}, 2, 4)  # an empty list element is no second range


def test_suffix_ranges_are_the_last_bytes(blob: Blob) -> None:
    n = len(blob.data)
    _slice(blob, {"Range": "bytes=-10"}, n - 10, n - 1)
    _slice(blob, {"Range": "bytes=-1"}, n - 1, n - 1)
    _slice(blob, {"Range": f"bytes=-{n + 1000}"}, 0, n - 1)  # longer than the blob: all of it


@pytest.mark.parametrize(
    "header",
    [
        "bytes=0-0,2-3",  # several ranges: not supported, so ignored
        "bytes=0-1, 5-9, 20-",
        "bytes=5-3",  # last before first: invalid
        "bytes=x-y",
        "bytes=-",
        "bytes=",
        "bytes=1",
        "bytes 0-5",
        "items=0-5",
        "bytes=0-\xb2",  # a non-ASCII digit (superscript two: str.isdigit says yes)
        "bytes=+1-2",
        "bytes=0x1-2",
    ],
)
def test_malformed_or_unsupported_ranges_are_ignored(blob: Blob, header: str) -> None:
    _whole(blob, {"Range": header})


@pytest.mark.parametrize("header", ["bytes={n}-", "bytes={n}-{m}", "bytes=-0", "bytes=99999999999999999999-"])
def test_a_range_past_the_end_is_a_problem_416(blob: Blob, header: str) -> None:
    n = len(blob.data)
    response = blob.client.get(blob.path, headers={"Range": header.format(n=n, m=n + 9)})
    assert response.status_code == 416
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["content-range"] == f"bytes */{n}"
    assert response.json()["code"] == "range_not_satisfiable"
    assert blob.data not in response.content


def test_if_range_with_the_etag_gives_the_slice_and_anything_else_the_whole(blob: Blob) -> None:
    _slice(blob, {"Range": "bytes=1-2", "If-Range": blob.etag}, 1, 2)
    _whole(blob, {"Range": "bytes=1-2", "If-Range": '"another"'})
    _whole(blob, {"Range": "bytes=1-2", "If-Range": "W/" + blob.etag})  # If-Range compares strongly
    _whole(blob, {"Range": "bytes=1-2", "If-Range": "Tue, 01 Dec 2026 10:00:00 GMT"})  # dates are not trusted
    _whole(blob, {"If-Range": blob.etag})  # If-Range alone changes nothing


def test_head_with_a_range_has_the_slice_headers_and_no_body(blob: Blob) -> None:
    response = blob.client.head(blob.path, headers={"Range": "bytes=4-9"})
    assert response.status_code == 206
    assert response.headers["content-range"] == f"bytes 4-9/{len(blob.data)}"
    assert response.headers["content-length"] == "6"


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        ("bytes=0-", 1, (0, 0)),
        ("bytes=-1", 1, (0, 0)),
        ("bytes=-5", 1, (0, 0)),
        ("bytes=0-0", 2, (0, 0)),
        ("bytes=1-1", 2, (1, 1)),
        ("bytes=-5", 0, None),  # the last bytes of nothing: the empty whole, not a 206
        ("bytes=0-0,1-1", 0, None),
        (None, 0, None),
        ("bytes=5-3", 0, None),
    ],
)
def test_the_rule_at_the_edges(header: str | None, size: int, expected: tuple[int, int] | None) -> None:
    assert byte_range(header, size) == expected


@pytest.mark.parametrize(
    ("header", "size"), [("bytes=0-", 0), ("bytes=0-0", 0), ("bytes=1-", 1), ("bytes=-0", 5)]
)
def test_unsatisfiable_at_the_edges(header: str, size: int) -> None:
    with pytest.raises(RangeNotSatisfiable) as raised:
        byte_range(header, size)
    assert raised.value.size == size


def test_the_416_says_which_range_and_how_large_the_blob_is() -> None:
    with pytest.raises(RangeNotSatisfiable) as raised:
        byte_range("bytes= 5000-6000 ", 1234)
    assert str(raised.value) == "the range '5000-6000' lies outside the blob's 1,234 bytes"


@pytest.mark.parametrize(
    "header",
    [
        pytest.param("bytes=0-\xb2", id="superscript-two-last"),  # str.isdigit says yes, int() says no
        pytest.param("bytes=\xb2-", id="superscript-two-first"),
        pytest.param("bytes=-\xb2", id="superscript-two-suffix"),
        pytest.param("bytes=\u0661-", id="arabic-indic-one"),  # a decimal digit to int(), not ASCII
    ],
)
def test_only_ascii_digits_are_numbers(header: str) -> None:
    assert byte_range(header, 1000) is None


def test_numbers_are_exact_up_to_18_digits_and_any_longer_lies_past_every_end() -> None:
    eighteen = 10**17  # the smallest 18-digit number
    assert byte_range(f"bytes={eighteen}-", eighteen + 5) == (eighteen, eighteen + 4)
    assert byte_range(f"bytes=0-{eighteen}", eighteen + 5) == (0, eighteen)
    # Longer numbers are never converted (int() refuses more than 4,300 digits): past the end, or the end.
    with pytest.raises(RangeNotSatisfiable):
        byte_range("bytes=" + "9" * 5000 + "-", 10)
    assert byte_range("bytes=2-" + "9" * 5000, 10) == (2, 9)
    assert byte_range("bytes=-" + "9" * 5000, 10) == (0, 9)
