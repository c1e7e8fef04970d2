"""`/v1/images` on the file store: upload, describe, list, delete, refusals, idempotency, form rules."""

from __future__ import annotations

import base64
import contextlib
import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers import make_jpeg
from tests.http_support import Api, api_for, make_image_store


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    with make_image_store(tmp_path) as store, api_for(store) as a:
        yield a


def _is_problem(resp: object, status: int, code: str) -> None:
    assert resp.status_code == status, resp.text  # type: ignore[attr-defined]
    assert resp.headers["content-type"] == "application/problem+json"  # type: ignore[attr-defined]
    body = resp.json()  # type: ignore[attr-defined]
    assert body["code"] == code and body["status"] == status and body["detail"]


def test_upload_answers_201_with_the_image_json(api: Api) -> None:
    resp = api.upload("acme", make_jpeg(), filename="shop.jpg", alt="the shop front")
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert resp.headers["location"] == f"/v1/images/{body['id']}"
    assert resp.headers["x-content-type-options"] == "nosniff"
    stored = api.store.get(body["id"], "acme")
    # The same shape as `picstore put --json`; sizes as the store recorded them (before and after ingest).
    assert body == api.store.describe(stored)
    assert (body["width"], body["height"], body["format"]) == (stored.width, stored.height, "jpeg")
    assert body["tenant"] == "acme" and body["filename"] == "shop.jpg" and body["alt"] == "the shop front"
    assert hashlib.sha256(api.store.read(body["id"])).hexdigest() == body["sha256"]


def test_the_image_url_serves_the_bytes_with_nosniff(api: Api) -> None:
    body = api.upload("acme", make_jpeg()).json()
    path = body["url"].split("://", 1)[1].split("/", 1)[1]
    resp = api.client.get("/" + path)
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "image/jpeg"
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert hashlib.sha256(resp.content).hexdigest() == body["sha256"]
    for formats in body["variants"].values():
        for variant in formats.values():
            served = api.client.get("/" + variant["url"].split("://", 1)[1].split("/", 1)[1])
            assert served.status_code == 200 and served.headers["x-content-type-options"] == "nosniff"
            assert served.headers["content-type"].startswith("image/")


def test_get_list_and_delete(api: Api) -> None:
    ids = [api.upload("acme", make_jpeg(color=(i, 40, 40))).json()["id"] for i in range(5)]
    one = api.client.get(f"/v1/images/{ids[2]}", headers=api.auth("acme"))
    assert one.status_code == 200 and one.json()["id"] == ids[2]

    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = api.client.get("/v1/images", params=params, headers=api.auth("acme")).json()
        assert len(page["items"]) <= 2
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids[::-1]  # newest first, each once

    assert api.client.delete(f"/v1/images/{ids[0]}", headers=api.auth("acme")).status_code == 204
    _is_problem(api.client.get(f"/v1/images/{ids[0]}", headers=api.auth("acme")), 404, "not_found")
    _is_problem(api.client.delete(f"/v1/images/{ids[0]}", headers=api.auth("acme")), 404, "not_found")
    listed = api.client.get("/v1/images", headers=api.auth("acme")).json()["items"]
    assert [i["id"] for i in listed] == ids[:0:-1]


def test_refusals_are_problems_with_codes_and_store_nothing(api: Api) -> None:
    _is_problem(api.upload("acme", b"<html><script>alert(1)</script></html>"), 415, "not_an_image")
    _is_problem(api.upload("acme", b""), 415, "not_an_image")
    assert api.store.catalog.images.count() == 0
    assert api.metric("picstore_uploads_total", outcome="refused", code="not_an_image") == 2


def test_no_key_or_a_wrong_key_is_401_everywhere(api: Api) -> None:
    image_id = api.upload("acme", make_jpeg()).json()["id"]
    calls = [
        ("POST", "/v1/images"),
        ("GET", "/v1/images"),
        ("GET", f"/v1/images/{image_id}"),
        ("DELETE", f"/v1/images/{image_id}"),
        ("POST", "/v1/uploads"),
        ("POST", f"/v1/uploads/{image_id}/complete"),
    ]
    for headers in ({}, {"Authorization": "Bearer psk_wrong"}, {"Authorization": "Basic eDp5"}):
        for method, path in calls:
            resp = api.client.request(method, path, headers=headers)
            _is_problem(resp, 401, "unauthorized")
            assert resp.headers["www-authenticate"].startswith("Bearer")
    assert api.store.get(image_id).id == image_id


def test_idempotency_key_makes_one_image(api: Api) -> None:
    first = api.upload("acme", make_jpeg(), headers={"Idempotency-Key": "order-17-photo-1"})
    again = api.upload("acme", make_jpeg(), headers={"Idempotency-Key": "order-17-photo-1"})
    other = api.upload("acme", make_jpeg(), headers={"Idempotency-Key": "order-17-photo-2"})
    assert first.status_code == again.status_code == other.status_code == 201
    assert first.json()["id"] == again.json()["id"] != other.json()["id"]
    assert api.store.catalog.images.count() == 2
    # Keys are per tenant: globex's key of the same value is its own.
    theirs = api.upload("globex", make_jpeg(), headers={"Idempotency-Key": "order-17-photo-1"})
    assert theirs.json()["id"] != first.json()["id"] and theirs.json()["tenant"] == "globex"
    _is_problem(
        api.upload("acme", make_jpeg(), headers={"Idempotency-Key": "upload:x"}), 400, "invalid_request"
    )
    _is_problem(api.upload("acme", make_jpeg(), headers={"Idempotency-Key": "a b"}), 400, "invalid_request")
    _is_problem(
        api.upload("acme", make_jpeg(), headers={"Idempotency-Key": "k" * 201}), 400, "invalid_request"
    )


def test_filenames_are_metadata_only(api: Api) -> None:
    body = api.upload("acme", make_jpeg(), filename="../../etc/passwd.jpg").json()
    assert body["filename"] == "passwd.jpg"
    assert "passwd" not in body["url"] and ".." not in body["url"]


def test_alt_text_rules(api: Api) -> None:
    _is_problem(api.upload("acme", make_jpeg(), alt="bad\x00alt"), 400, "invalid_request")
    _is_problem(api.upload("acme", make_jpeg(), alt="a" * 2001), 400, "invalid_request")
    assert api.upload("acme", make_jpeg(), alt="line one\nline two").json()["alt"] == "line one\nline two"


def _raw_form(parts: list[tuple[str, str | None, bytes]], boundary: str = "XyZ", close: bool = True) -> bytes:
    out = b""
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + data + b"\r\n"
    return out + (f"--{boundary}--\r\n".encode() if close else b"")


def test_form_rules(api: Api) -> None:
    jpeg = make_jpeg()

    def post(body: bytes, content_type: str = "multipart/form-data; boundary=XyZ") -> object:
        return api.client.post(
            "/v1/images", content=body, headers={**api.auth("acme"), "Content-Type": content_type}
        )

    _is_problem(post(_raw_form([("alt", None, b"no file")])), 400, "invalid_request")
    _is_problem(post(_raw_form([("file", "a.jpg", jpeg), ("file", "b.jpg", jpeg)])), 400, "invalid_request")
    _is_problem(post(_raw_form([("file", "a.jpg", jpeg), ("owner", None, b"x")])), 400, "invalid_request")
    _is_problem(
        post(_raw_form([("file", "a.jpg", jpeg), ("alt", None, b"x" * 20_000)])), 400, "invalid_request"
    )
    _is_problem(post(_raw_form([("file", "a.jpg", jpeg)], close=False)), 400, "invalid_request")
    _is_problem(post(_raw_form([("alt", None, b"x")] * 10_000)), 400, "invalid_request")
    _is_problem(post(jpeg, "image/jpeg"), 400, "invalid_request")
    _is_problem(post(b"garbage", "multipart/form-data; boundary=XyZ"), 400, "invalid_request")
    assert api.store.catalog.images.count() == 0
    assert post(_raw_form([("alt", None, b"fine"), ("file", "a.jpg", jpeg)])).status_code == 201  # type: ignore[attr-defined]


def test_unknown_routes_and_methods_are_problems(api: Api) -> None:
    _is_problem(api.client.get("/v2/nothing"), 404, "not_found")
    _is_problem(api.client.put("/v1/images", headers=api.auth("acme")), 405, "method_not_allowed")
    _is_problem(api.client.get("/v1/images/NOT-AN-ID", headers=api.auth("acme")), 400, "invalid_request")
    _is_problem(api.client.get("/v1/images?limit=0", headers=api.auth("acme")), 400, "invalid_request")
    _is_problem(api.client.get("/v1/images?cursor=bad", headers=api.auth("acme")), 400, "invalid_request")


def test_health_readiness_and_openapi(api: Api) -> None:
    assert api.client.get("/healthz").json()["status"] == "ok"
    ready = api.client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    paths = api.client.get("/openapi.json").json()["paths"]
    assert {"/v1/images", "/v1/images/{image_id}", "/v1/uploads", "/v1/uploads/{upload_id}/complete"} <= set(
        paths
    )
    assert "multipart/form-data" in paths["/v1/images"]["post"]["requestBody"]["content"]
    assert api.client.get("/docs").status_code == 200


def test_readyz_is_503_when_the_catalog_is_gone(tmp_path: Path) -> None:
    with make_image_store(tmp_path) as store, api_for(store) as api:
        db = tmp_path / "catalog.db"
        # A directory where the database was: unopenable. The app's background job poller may reopen
        # (and so recreate) the file between the two steps, hence a few tries.
        for _ in range(20):
            db.unlink(missing_ok=True)
            with contextlib.suppress(FileExistsError):
                db.mkdir()
                break
        assert db.is_dir()
        # Only then drop the pooled connections: one opened before the unlink would keep reading the
        # deleted file.
        store.engine.dispose()
        resp = api.client.get("/readyz")
        assert resp.status_code == 503 and resp.headers["content-type"] == "application/problem+json"
        assert resp.headers["retry-after"]


def test_crafted_cursors_are_client_errors(tmp_path: Path, database_url: str) -> None:
    with make_image_store(tmp_path, database=database_url) as store, api_for(store) as api:

        def page(raw: bytes) -> httpx.Response:
            cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
            return api.client.get("/v1/images", params={"cursor": cursor}, headers=api.auth("acme"))

        # Malformed, or well-formed with values no database column holds (NUL, a 77-bit time): never a 500.
        for raw in (b"no colon", b"\xff\xfe", b"123:\x00", b"99999999999999999999999:abc", b"-5:abc"):
            _is_problem(page(raw), 400, "invalid_request")
