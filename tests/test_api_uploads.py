"""Direct uploads on the file store: `POST /v1/uploads`, the upload URL on picstore, `complete`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from picstore.catalog.repository import now_us
from picstore.catalog.tables import uploads
from tests.helpers import make_jpeg
from tests.http_support import Api, api_for, make_store


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    with make_store(tmp_path, max_bytes=200_000) as store, api_for(store) as a:
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
    assert set(ticket["fields"]) == {"Content-Type", "token"}
    sent = _send(api, ticket, data)
    assert sent.status_code == 204 and sent.headers["access-control-allow-origin"] == "*"
    # Received, but not public: outside the blob directory, unknown to the catalog and to /b/.
    (waiting,) = _incoming(api)
    assert waiting.read_bytes() == data
    assert not waiting.is_relative_to(api.store.blobs.root)  # type: ignore[attr-defined]
    assert api.store.catalog.count_images() == 0
    done = _complete(api, ticket, alt="shop front")
    assert done.status_code == 201, done.text
    image = done.json()
    assert image["filename"] == "shop.jpg" and image["alt"] == "shop front" and image["tenant"] == "acme"
    assert image == api.store.describe(api.store.get(image["id"]))
    assert _incoming(api) == []
    # complete again (a retry after a lost answer): the same image, nothing new.
    assert _complete(api, ticket).json()["id"] == image["id"]
    assert api.store.catalog.count_images() == 1
    assert api.metric("picstore_uploads_total", outcome="accepted", code="") == 2


def test_complete_refuses_a_non_image_with_its_code_and_deletes_it(api: Api) -> None:
    html = b"<html><body><script>steal()</script></body></html>"
    ticket = _ticket(api, len(html))
    assert _send(api, ticket, html).status_code == 204
    resp = _complete(api, ticket)
    assert resp.status_code == 415 and resp.json()["code"] == "not_an_image"
    assert resp.headers["content-type"] == "application/problem+json"
    assert _incoming(api) == [] and api.store.catalog.count_images() == 0
    # Nothing left to publish; the upload may be sent again while it has not expired.
    again = _complete(api, ticket)
    assert again.status_code == 409 and again.json()["code"] == "conflict"
    assert api.metric("picstore_uploads_total", outcome="refused", code="not_an_image") == 1


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
    assert empty.status_code == 413
    extra = api.client.post(ticket["url"], data={**ticket["fields"], "key": "img/x"}, files={"file": data})
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
