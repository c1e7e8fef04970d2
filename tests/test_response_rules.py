"""web/headers.py: every answer that may carry a secret is ``no-store``, and no redirect names the
``Host`` the client sent. Each route that hands out a secret is asked in turn; the redirects are asked
with a forged ``Host``, in-process and through a real server."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import anyio
import pytest
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from picstore.web.app import create_app
from picstore.web.headers import ResponseRules, relative_location
from tests.helpers import make_jpeg
from tests.http_support import ADMIN_KEY, Api, api_for, make_image_store, running
from tests.test_web_ui import _login_csrf, sign_in

FORGED = "evil.example"


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    settings = {"transform_keys": ["t" * 32], "transform_auto": "redirect"}
    with make_image_store(tmp_path, **settings) as store, api_for(store) as a:
        yield a


def _no_store(response: object) -> None:
    assert response.headers["cache-control"] == "no-store", response.headers  # type: ignore[attr-defined]


# --- no-store on every answer that carries a secret ------------------------------------------------------


def test_a_new_tenants_key_is_not_stored(api: Api) -> None:
    created = api.client.post(
        "/v1/tenants", json={"slug": "initech"}, headers={"Authorization": f"Bearer {ADMIN_KEY}"}
    )
    assert created.status_code == 201 and created.json()["api_key"]
    _no_store(created)


def test_a_direct_uploads_signed_form_is_not_stored(api: Api) -> None:
    ticket = api.client.post(
        "/v1/uploads", json={"content_type": "image/jpeg", "bytes": 100}, headers=api.auth("acme")
    )
    assert ticket.status_code == 201 and ticket.json()["fields"]["token"]
    _no_store(ticket)


def test_image_answers_are_not_stored(api: Api) -> None:
    # With a private bucket their URLs are presigned: credentials for a while.
    image = api.upload("acme", make_jpeg()).json()
    _no_store(api.client.get(f"/v1/images/{image['id']}", headers=api.auth("acme")))
    _no_store(api.client.get("/v1/images", headers=api.auth("acme")))


def test_sign_in_pages_and_answers_are_not_stored(api: Api) -> None:
    for path in ("/login", "/admin/login", "/"):
        _no_store(api.client.get(path))
    refused = api.client.post("/login", data={"csrf": _login_csrf(api.client), "api_key": "psk_wrong"})
    assert refused.status_code == 401
    _no_store(refused)
    signed = api.client.post(
        "/login", data={"csrf": _login_csrf(api.client), "api_key": api.keys["acme"]}, follow_redirects=False
    )
    assert signed.status_code == 303 and "picstore_session=" in signed.headers["set-cookie"]
    _no_store(signed)
    admin = api.client.post(
        "/admin/login",
        data={"csrf": _login_csrf(api.client, "/admin/login"), "admin_key": ADMIN_KEY},
        follow_redirects=False,
    )
    assert admin.status_code == 303 and "picstore_session=" in admin.headers["set-cookie"]
    _no_store(admin)


def test_sign_in_links_upload_tokens_and_sign_out_are_not_stored(api: Api) -> None:
    link = urlsplit(api.store.signin_link("acme")).path
    page = api.client.get(link)
    assert page.status_code == 200
    _no_store(page)
    used = api.client.post(
        link, data={"csrf": re.search(r'name="csrf" value="([^"]+)"', page.text)[1]}, follow_redirects=False
    )  # type: ignore[index]
    assert used.status_code == 303
    _no_store(used)
    csrf = sign_in(api)
    token = api.client.post("/dashboard/upload-token", headers={"X-CSRF-Token": csrf})
    assert token.json()["token"].startswith("psu_")
    _no_store(token)
    _no_store(api.client.get("/dashboard"))
    out = api.client.post("/logout", data={"csrf": csrf}, follow_redirects=False)
    assert out.status_code == 303
    _no_store(out)


def test_cacheable_answers_keep_their_own_cache_control(api: Api) -> None:
    image = api.upload("acme", make_jpeg()).json()
    blob = api.client.get("/b/" + image["url"].split("/b/", 1)[1])
    assert blob.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert api.client.get("/p/acme").headers["cache-control"] == "public, max-age=60"
    _no_store(api.client.get("/v1/images/" + "a" * 24, headers=api.auth("acme")))  # a problem too


def test_a_cookie_makes_an_answer_no_store_whatever_it_said() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        response = Response("x", headers={"Cache-Control": "public, max-age=600"})
        response.set_cookie("session", "secret")
        await response(scope, receive, send)

    sent: list[dict[str, object]] = []

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b""}

    scope = {"type": "http", "method": "GET", "path": "/", "headers": [], "scheme": "http"}
    anyio.run(ResponseRules(app), scope, receive, send)  # type: ignore[arg-type]
    headers = dict(sent[0]["headers"])  # type: ignore[arg-type]
    assert headers[b"cache-control"] == b"no-store"


# --- no redirect reflects the client's Host ------------------------------------------------------------


@pytest.mark.parametrize("path", ["/b", "/static", "/v1/images/", "/v1/tenants/", "/p/acme/", "/dashboard"])
def test_no_redirect_names_a_forged_host(api: Api, path: str) -> None:
    answer = api.client.get(path, headers={"Host": FORGED, **api.auth("acme")}, follow_redirects=False)
    assert answer.status_code in (301, 302, 303, 307, 308), (path, answer.status_code)
    location = answer.headers["location"]
    assert FORGED not in location
    assert location.startswith("/") and not location.startswith("//")


def test_a_transform_redirect_names_the_configured_url_not_the_host(api: Api) -> None:
    image = api.upload("acme", make_jpeg()).json()
    url = api.store.transform_url(image["id"], width=100, format="auto")
    answer = api.client.get(urlsplit(url).path, headers={"Host": FORGED}, follow_redirects=False)
    assert answer.status_code == 302
    assert answer.headers["location"].startswith(api.store.settings.base_url + "/t/")


def test_sign_in_redirects_do_not_name_a_forged_host(api: Api) -> None:
    form = {"csrf": _login_csrf(api.client), "api_key": api.keys["acme"]}
    answer = api.client.post("/login", data=form, headers={"Host": FORGED}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/dashboard"


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        (f"http://{FORGED}/b/", "/b/"),
        (f"http://{FORGED.upper()}/x?y=1#z", "/x?y=1#z"),
        (f"http://{FORGED}", "/"),
        (f"https://{FORGED}/b/", f"https://{FORGED}/b/"),  # another scheme: another origin
        ("http://cdn.example/b/x", "http://cdn.example/b/x"),  # the configured CDN
        ("/already/relative", "/already/relative"),
    ],
)
def test_locations_on_the_requests_origin_become_paths(location: str, expected: str) -> None:
    scope = {"type": "http", "scheme": "http", "headers": [(b"host", FORGED.encode())]}
    assert relative_location(location, scope) == expected


def test_a_real_server_does_not_reflect_a_forged_host(tmp_path: Path) -> None:
    with make_image_store(tmp_path) as store, running(create_app(store)) as base:
        host, port = base.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(f"GET /b HTTP/1.1\r\nHost: {FORGED}\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
    head = data.partition(b"\r\n\r\n")[0].decode("latin-1").lower()
    assert head.startswith("http/1.1 30")
    assert "\r\nlocation: /b/" in head
    assert FORGED not in head
