"""Fuzzing the HTTP parsers picstore exposes: multipart upload bodies and Range headers.

Whatever the client sends, the answer is a 2xx or a 4xx problem+json, never a 5xx: hostile framing is
the client's error. A 206 carries exactly the bytes the range names. Bounded and derandomized for CI;
inputs that ever failed are pinned with ``@example``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.helpers import make_jpeg
from tests.http_support import Api, api_for, make_image_store

FUZZ = settings(max_examples=120, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
BOUNDARY_CHARS = st.sampled_from(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'()+_,-./:=? "
)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    root: Path = tmp_path_factory.mktemp("fuzz-http")
    with make_image_store(root) as store, api_for(store) as api:
        yield api


@pytest.fixture(scope="module")
def stored(api: Api) -> tuple[str, bytes]:
    """A master blob served from disk (Range applies): its /b/ path and its bytes."""
    image = api.upload("acme", make_jpeg(300, 200)).json()
    data = api.store.read(image["id"])
    assert hashlib.sha256(data).hexdigest() == image["sha256"]
    return "/b/" + image["url"].split("/b/", 1)[1], data


def _assert_client_error_or_success(response: object) -> None:
    status = response.status_code  # type: ignore[attr-defined]
    assert status < 500, response.text  # type: ignore[attr-defined]
    if status >= 400:
        assert response.headers["content-type"].startswith("application/problem+json")  # type: ignore[attr-defined]
        assert response.json()["code"]  # type: ignore[attr-defined]


def _multipart(boundary: str, parts: list[tuple[str, bytes]], close: bool) -> bytes:
    body = b""
    for name, content in parts:
        body += (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="a.jpg"\r\n'
                "Content-Type: image/jpeg\r\n\r\n"
            ).encode()
            + content
            + b"\r\n"
        )
    return body + (f"--{boundary}--\r\n".encode() if close else b"")


@FUZZ
@given(
    boundary=st.text(BOUNDARY_CHARS, min_size=1, max_size=400).map(str.strip).filter(bool),
    declared=st.one_of(st.none(), st.text(BOUNDARY_CHARS, min_size=1, max_size=300)),
    names=st.lists(st.sampled_from(["file", "alt", "x", "file", ""]), min_size=0, max_size=4),
    payload=st.binary(max_size=64),
    close=st.booleans(),
)
@example(boundary="b" * 300, declared=None, names=["file"], payload=make_jpeg(), close=True)
@example(boundary="x", declared="x" * 257, names=["file"], payload=b"", close=False)
def test_any_multipart_framing_is_a_client_error_or_an_upload(
    api: Api, boundary: str, declared: str | None, names: list[str], payload: bytes, close: bool
) -> None:
    body = _multipart(boundary, [(n, payload) for n in names], close)
    content_type = f'multipart/form-data; boundary="{declared if declared is not None else boundary}"'
    response = api.client.post(
        "/v1/images", content=body, headers={**api.auth("acme"), "Content-Type": content_type}
    )
    _assert_client_error_or_success(response)


@FUZZ
@given(
    spec=st.one_of(
        st.text(st.sampled_from("bytes=0123456789-, ;x"), max_size=40),
        st.tuples(st.integers(-5, 40_000), st.integers(-5, 40_000)).map(lambda r: f"bytes={r[0]}-{r[1]}"),
        st.integers(0, 40_000).map(lambda n: f"bytes=-{n}"),
        st.integers(0, 40_000).map(lambda n: f"bytes={n}-"),
    )
)
@example(spec="bytes=0-0,1-1")
@example(spec="bytes=99999999999999999999-")
def test_any_range_header_is_a_slice_a_whole_or_a_clean_refusal(
    api: Api, stored: tuple[str, bytes], spec: str
) -> None:
    path, data = stored
    response = api.client.get(path, headers={"Range": spec})
    assert response.status_code in (200, 206, 416), (spec, response.status_code, response.text[:200])
    if response.status_code == 200:
        assert response.content == data
    elif response.status_code == 206:
        first, last = response.headers["content-range"].removeprefix("bytes ").split("/")[0].split("-")
        assert response.content == data[int(first) : int(last) + 1]
        assert response.headers["content-range"].endswith(f"/{len(data)}")
    else:
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "range_not_satisfiable"
        assert response.headers["content-range"] == f"bytes */{len(data)}"
