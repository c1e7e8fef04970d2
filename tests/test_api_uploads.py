"""Direct uploads on the file store: `POST /v1/uploads`, the upload URL on picstore, `complete`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from picstore.catalog.clock import now_us
from picstore.catalog.tables import uploads
from tests.helpers import make_jpeg
from tests.http_support import Api, api_for, make_image_store


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    with make_image_store(tmp_path, max_bytes=200_000) as store, api_for(store) as a:
        yield a


def _ticket(api: Api, size: int, content_type: str = "image/jpeg", tenant: str = "acme") -> Any:
    resp = api.client.post(
        "/v1/uploads",
        json={"filename": "shop.jpg", "content_type": content_type, "bytes": size},
        headers=api.auth(tenant),
    )
    assert resp.status_code == 201, resp.text
    return resp.json()


def _send(api: Api, ticket: Any, data: bytes, **field_overrides: str) -> Any:
    fields = {**ticket["fields"], **field_overrides}
    # Exactly what a browser does: the fields, then the file, to the url it was given (no API key).
    return api.client.post(ticket["url"], data=fields, files={"file": ("shop.jpg", data, "image/jpeg")})


def _complete(api: Api, ticket: Any, tenant: str = "acme", **body: str) -> Any:
    return api.client.post(
        f"/v1/uploads/{ticket['upload_id']}/complete", json=body or None, headers=api.auth(tenant)
    )


def _incoming(api: Api) -> list[Path]:
    root = Path(f"{api.store.blobs.root}-incoming")  # type: ignore[attr-defined]
    return sorted(p for p in root.rglob("*") if p.is_file() and ".tmp" not in p.parts)


def test_the_whole_flow(api: Api) -> None:
    data = make_jpeg()
    ticket = _ticket(api, len(data))
    assert set(ticket) == {"upload_id", "url", "fields", "expires_at"}
    assert ticket["url"].endswith(f"/v1/uploads/{ticket['upload_id']}/file")
    assert set(ticket["fields"]) == {"key", "Content-Type", "token"}
    assert ticket["fields"]["key"] == ticket["upload_id"]
    sent = _send(api, ticket, data)
    assert sent.status_code == 204 and sent.headers["access-control-allow-origin"] == "*"
    # Received, but not public: outside the blob directory, unknown to the catalog and to /b/.
    (waiting,) = _incoming(api)
    assert waiting.read_bytes() == data
    assert not waiting.is_relative_to(api.store.blobs.root)  # type: ignore[attr-defined]
    assert api.store.catalog.images.count() == 0
    done = _complete(api, ticket, alt="shop front")
    assert done.status_code == 201, done.text
    image = done.json()
    assert image["filename"] == "shop.jpg" and image["alt"] == "shop front" and image["tenant"] == "acme"
    assert image == api.store.describe(api.store.get(image["id"]))
    assert _incoming(api) == []
    # complete again (a retry after a lost answer): the same image, nothing new.
    assert _complete(api, ticket).json()["id"] == image["id"]
    assert api.store.catalog.images.count() == 1
    assert api.metric("picstore_uploads_total", outcome="accepted", code="") == 2


def test_complete_refuses_a_non_image_with_its_code_and_deletes_it(api: Api) -> None:
    html = b"<html><body><script>steal()</script></body></html>"
    ticket = _ticket(api, len(html))
    assert _send(api, ticket, html).status_code == 204
    resp = _complete(api, ticket)
    assert resp.status_code == 415 and resp.json()["code"] == "not_an_image"
    assert resp.headers["content-type"] == "application/problem+json"
    assert _incoming(api) == [] and api.store.catalog.images.count() == 0
    # Nothing left to publish; the upload may be sent again while it has not expired.
    again = _complete(api, ticket)
    assert again.status_code == 409 and again.json()["code"] == "conflict"
    assert api.metric("picstore_uploads_total", outcome="refused", code="not_an_image") == 1


def test_an_empty_file_is_a_400_and_one_byte_is_received(api: Api) -> None:
    empty = _send(api, _ticket(api, 1), b"")
    assert empty.status_code == 400 and empty.json()["code"] == "empty_file"
    assert empty.headers["content-type"] == "application/problem+json"
    assert _incoming(api) == []
    assert _send(api, _ticket(api, 1), b"\xff").status_code == 204  # the smallest file a ticket takes


def test_the_upload_url_checks_what_a_post_policy_would(api: Api) -> None:
    data = make_jpeg()
    ticket = _ticket(api, len(data))
    forged = _send(api, ticket, data, token="x" * 43)
    assert forged.status_code == 403 and forged.json()["code"] == "forbidden"
    assert forged.headers["access-control-allow-origin"] == "*"  # a page elsewhere can read the code
    html_type = _send(api, ticket, data, **{"Content-Type": "text/html"})
    assert html_type.status_code == 403
    too_big = _send(api, ticket, data + b"\0")
    assert too_big.status_code == 413 and too_big.json()["code"] == "too_large"
    empty = _send(api, ticket, b"")
    assert empty.status_code == 400 and empty.json()["code"] == "empty_file"
    assert empty.headers["content-type"] == "application/problem+json"
    other_key = api.client.post(
        ticket["url"], data={**ticket["fields"], "key": "img/x"}, files={"file": data}
    )
    assert other_key.status_code == 403 and "key" in other_key.json()["detail"]
    extra = api.client.post(
        ticket["url"], data={**ticket["fields"], "acl": "public-read"}, files={"file": data}
    )
    assert extra.status_code == 400
    assert _incoming(api) == []
    assert _send(api, ticket, data).status_code == 204
    unknown = api.client.post(
        "/v1/uploads/" + "a" * 24 + "/file", data=ticket["fields"], files={"file": data}
    )
    assert unknown.status_code == 404


def test_an_expired_upload_takes_no_file(api: Api) -> None:
    data = make_jpeg()
    ticket = _ticket(api, len(data))
    with api.store.engine.begin() as conn:
        conn.execute(update(uploads).values(expires_us=now_us() - 1))
    resp = _send(api, ticket, data)
    assert resp.status_code == 403 and "expired" in resp.json()["detail"]


def test_create_validates_the_declaration(api: Api) -> None:
    def create(**body: Any) -> Any:
        return api.client.post("/v1/uploads", json=body, headers=api.auth("acme"))

    assert create(content_type="text/html", bytes=10).json()["code"] == "not_an_image"
    assert create(content_type="image/svg+xml; charset=utf-8", bytes=10).status_code == 415
    big = create(content_type="image/jpeg", bytes=200_001)
    assert big.status_code == 413 and big.json()["code"] == "too_large"
    for bad in ({"content_type": "image/jpeg", "bytes": 0}, {"content_type": "image/jpeg"}, {"bytes": 5}):
        assert create(**bad).status_code == 400
    assert create(content_type="image/jpeg", bytes=5, filename="a\x00b").status_code == 400


def test_complete_before_the_file_arrives_is_a_conflict(api: Api) -> None:
    ticket = _ticket(api, 1000)
    resp = _complete(api, ticket)
    assert resp.status_code == 409 and resp.json()["code"] == "conflict"
    missing = api.client.post("/v1/uploads/" + "b" * 24 + "/complete", headers=api.auth("acme"))
    assert missing.status_code == 404


def test_sweep_forgets_expired_uploads_and_their_files(api: Api) -> None:
    data = make_jpeg()
    ticket = _ticket(api, len(data))
    assert _send(api, ticket, data).status_code == 204
    assert len(_incoming(api)) == 1
    with api.store.engine.begin() as conn:
        conn.execute(update(uploads).values(expires_us=now_us() - 7200 * 1_000_000))
    _ticket(api, 10)  # creating an upload sweeps what expired more than an hour ago
    assert _incoming(api) == []
    assert _complete(api, ticket).status_code == 404


@pytest.mark.parametrize(
    "content_type",
    [
        "image/jpeg",
        "image/png",
        "image/gif",
        "image/webp",
        "image/avif",
        "image/heic",
        "image/heif",
        "image/tiff",
    ],
)
def test_every_format_ingest_accepts_may_be_declared(api: Api, content_type: str) -> None:
    assert _ticket(api, 100, content_type=content_type)["fields"]["Content-Type"] == content_type


@pytest.mark.parametrize(
    "content_type", ["image/svg+xml", "image/x-icon", "image/bmp", "image/vnd.microsoft.icon", "image/JPEG"]
)
def test_other_image_types_are_refused(api: Api, content_type: str) -> None:
    resp = api.client.post(
        "/v1/uploads", json={"content_type": content_type, "bytes": 100}, headers=api.auth("acme")
    )
    assert resp.status_code == 415 and resp.json()["code"] == "unsupported_format"
    assert "image/jpeg" in resp.json()["detail"]  # says what to send instead


def _raw_form(parts: list[tuple[str, str | None, bytes]], boundary: str = "XyZ") -> bytes:
    out = b""
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + data + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


def test_a_wrong_token_is_refused_before_the_file_is_read(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    import picstore.web.forms

    spooled: list[object] = []
    real = picstore.web.forms.tempfile.SpooledTemporaryFile

    def spool(*args: Any, **kwargs: Any) -> Any:
        spooled.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(picstore.web.forms.tempfile, "SpooledTemporaryFile", spool)
    data = make_jpeg()
    ticket = _ticket(api, len(data))
    # Larger than the upload allows: read first, it would be 413; checked first, it is 403.
    forged = _send(api, ticket, data + b"\0" * 1000, token="x" * 43)
    assert forged.status_code == 403 and forged.json()["code"] == "forbidden"
    assert spooled == []  # not a byte of the file went anywhere
    wrong_type = _send(api, ticket, data, **{"Content-Type": "image/png"})
    assert wrong_type.status_code == 403 and spooled == []
    assert _send(api, ticket, data).status_code == 204 and len(spooled) == 1


def test_the_fields_must_come_before_the_file(api: Api) -> None:
    data = make_jpeg()
    ticket = _ticket(api, len(data))
    fields = [(name, None, value.encode()) for name, value in ticket["fields"].items()]
    late = _raw_form([("file", "shop.jpg", data), *fields])
    headers = {"Content-Type": "multipart/form-data; boundary=XyZ"}
    resp = api.client.post(ticket["url"], content=late, headers=headers)
    assert resp.status_code == 403 and resp.json()["code"] == "forbidden"
    assert _incoming(api) == []
    on_time = _raw_form([*fields, ("file", "shop.jpg", data)])
    assert api.client.post(ticket["url"], content=on_time, headers=headers).status_code == 204


def test_the_declared_filename_is_cleaned_like_any_upload_filename(api: Api) -> None:
    resp = api.client.post(
        "/v1/uploads",
        json={"filename": "C:\\Users\\ann\\shop front.jpg", "content_type": "image/jpeg", "bytes": 10},
        headers=api.auth("acme"),
    )
    assert resp.status_code == 201, resp.text
    record = api.app.state.uploads.catalog.get(resp.json()["upload_id"])
    assert record.filename == "shop front.jpg"


def test_an_incoming_location_inside_the_blob_directory_is_a_config_error(tmp_path: Path) -> None:
    inside = (tmp_path / "blobs" / "incoming").as_uri()
    with make_image_store(tmp_path, upload_incoming=inside) as store, api_for(store) as api:
        resp = api.client.post(
            "/v1/uploads", json={"content_type": "image/jpeg", "bytes": 10}, headers=api.auth("acme")
        )
        assert resp.status_code == 500 and resp.json()["code"] == "config_error"
        assert "PICSTORE_UPLOAD_INCOMING" in resp.json()["detail"]
