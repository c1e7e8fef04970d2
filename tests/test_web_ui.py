"""The web UI over HTTP (no browser): sessions, CSRF, upload tokens, CORS, the listing's caching and
markup, the admin console. The browser journeys are in tests/browser/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.helpers import make_jpeg
from tests.http_support import ADMIN_KEY, Api, api_for, make_image_store


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    with make_image_store(tmp_path) as store, api_for(store) as a:
        yield a


def _login_csrf(client: TestClient, path: str = "/login") -> str:
    page = client.get(path)
    return re.search(r'name="csrf" value="([^"]+)"', page.text)[1]  # type: ignore[index]


def sign_in(api: Api, tenant: str = "acme") -> str:
    """Sign the client in as ``tenant``; returns the session's CSRF token."""
    form = {"csrf": _login_csrf(api.client), "api_key": api.keys[tenant]}
    answer = api.client.post("/login", data=form, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/dashboard"
    page = api.client.get("/dashboard")
    return re.search(r'name="csrf-token" content="([^"]+)"', page.text)[1]  # type: ignore[index]


def test_the_session_cookie_is_http_only_and_same_site(api: Api) -> None:
    form = {"csrf": _login_csrf(api.client), "api_key": api.keys["acme"]}
    answer = api.client.post("/login", data=form, follow_redirects=False)
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith("picstore_session=pss_")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie


def test_sign_in_refusals_change_nothing(api: Api) -> None:
    wrong = api.client.post("/login", data={"csrf": _login_csrf(api.client), "api_key": "psk_wrong"})
    assert (
        wrong.status_code == 401
        and "not valid" in wrong.text
        and "set-cookie"
        not in {k.lower() for k in wrong.headers if "picstore_session" in wrong.headers.get(k, "")}
    )
    forged = api.client.post("/login", data={"csrf": "guess", "api_key": api.keys["acme"]})
    assert forged.status_code == 403
    assert api.client.get("/dashboard", follow_redirects=False).headers["location"] == "/login"


def test_every_change_needs_the_csrf_token(api: Api) -> None:
    image = api.store.put(make_jpeg(), "acme", "a.jpg")
    csrf = sign_in(api)
    posts = [
        ("/dashboard/listing", {"name": "X", "description": "Y"}),
        ("/dashboard/order", {"mode": "custom"}),
        (f"/dashboard/pictures/{image.id}/text", {"alt": "x", "caption": "y"}),
        (f"/dashboard/pictures/{image.id}/move", {"by": "1"}),
        (f"/dashboard/pictures/{image.id}/delete", {}),
        ("/dashboard/upload-token", {}),
        ("/logout", {}),
    ]
    for path, fields in posts:
        for token in (None, "0" * 64):
            data = fields if token is None else {**fields, "csrf": token}
            answer = api.client.post(path, data=data, follow_redirects=False)
            assert answer.status_code == 403, (path, token)
    assert api.store.get(image.id).alt is None
    assert api.store.tenant("acme").name == "acme"
    # With it (as a header, like the page's scripts send it), the same change goes through.
    done = api.client.post(
        f"/dashboard/pictures/{image.id}/text",
        data={"alt": "A", "caption": ""},
        headers={"X-CSRF-Token": csrf, "Accept": "application/json"},
    )
    assert done.json() == {"ok": True} and api.store.get(image.id).alt == "A"


def test_sign_out_ends_the_session(api: Api) -> None:
    csrf = sign_in(api)
    cookie = api.client.cookies["picstore_session"]
    assert api.client.post("/logout", data={"csrf": csrf}, follow_redirects=False).status_code == 303
    api.client.cookies.set("picstore_session", cookie)  # a copy of the cookie is worth nothing now
    assert api.client.get("/dashboard", follow_redirects=False).headers["location"] == "/login"


def test_an_upload_token_uploads_and_does_nothing_else(api: Api) -> None:
    csrf = sign_in(api)
    token = api.client.post("/dashboard/upload-token", headers={"X-CSRF-Token": csrf}).json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    data = make_jpeg()
    ticket = api.client.post(
        "/v1/uploads",
        json={"filename": "a.jpg", "content_type": "image/jpeg", "bytes": len(data)},
        headers=auth,
    ).json()
    sent = api.client.post(
        ticket["url"], data=ticket["fields"], files={"file": ("a.jpg", data, "image/jpeg")}
    )
    assert sent.status_code == 204
    done = api.client.post(f"/v1/uploads/{ticket['upload_id']}/complete", headers=auth)
    assert done.status_code == 201 and done.json()["tenant"] == "acme"
    assert api.client.get("/v1/images", headers=auth).status_code == 401
    assert api.client.delete(f"/v1/images/{done.json()['id']}", headers=auth).status_code == 401
    expired = {"Authorization": "Bearer psu_" + "x" * 43}
    refused = api.client.post(
        "/v1/uploads", json={"content_type": "image/jpeg", "bytes": 10}, headers=expired
    )
    assert refused.status_code == 401 and "upload token" in refused.json()["detail"]


def test_uploads_answer_cors_preflights_without_credentials(api: Api) -> None:
    for path in ("/v1/uploads", "/v1/uploads/" + "a" * 24 + "/file", "/v1/uploads/" + "a" * 24 + "/complete"):
        answer = api.client.options(
            path,
            headers={
                "Origin": "https://shop.example.com",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type",
            },
        )
        assert answer.status_code == 204, path
        assert answer.headers["access-control-allow-origin"] == "*"
        assert "authorization" in answer.headers["access-control-allow-headers"]
        assert "access-control-allow-credentials" not in answer.headers
    refused = api.client.post("/v1/uploads", json={}, headers={"Origin": "https://shop.example.com"})
    assert refused.headers["access-control-allow-origin"] == "*"  # the page can read the refusal
    assert "access-control-allow-origin" not in api.client.get("/dashboard").headers


def _listing_images(html: str) -> list[str]:
    return re.findall(r"<img src=[^>]*>", html)


def test_the_listing_is_cacheable_and_complete_without_javascript(api: Api) -> None:
    for n in range(6):
        api.store.put(make_jpeg(800, 600, (n * 40, 90, 120)), "acme", f"{n}.jpg", alt=f"picture {n}")
    page = api.client.get("/p/acme")
    assert page.status_code == 200 and page.headers["cache-control"] == "public, max-age=60"
    again = api.client.get("/p/acme", headers={"If-None-Match": page.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    images = _listing_images(page.text)
    assert len(images) == 6
    assert all(re.search(r'width="\d+" height="\d+"', img) for img in images)
    assert [re.search(r'alt="([^"]*)"', i)[1] for i in images] == [f"picture {n}" for n in range(5, -1, -1)]  # type: ignore[index]
    assert [re.search(r'loading="(\w+)"', i)[1] for i in images] == ["eager"] * 4 + ["lazy"] * 2  # type: ignore[index]
    # With JavaScript off each picture links to its own page, which shows it large.
    link = re.search(r'href="(/p/acme/\w+)"', page.text)[1]  # type: ignore[index]
    single = api.client.get(link)
    assert single.status_code == 200 and "<picture>" in single.text and "picture 5" in single.text
    api.store.put(make_jpeg(), "acme", "new.jpg")
    changed = api.client.get("/p/acme", headers={"If-None-Match": page.headers["etag"]})
    assert changed.status_code == 200 and changed.headers["etag"] != page.headers["etag"]


def test_pages_load_nothing_from_other_hosts(api: Api) -> None:
    api.store.put(make_jpeg(), "acme", "a.jpg")
    sign_in(api)
    for path in ("/", "/login", "/docs", "/p/acme", "/dashboard"):
        page = api.client.get(path)
        assert "script-src 'self'" in page.headers["content-security-policy"], path
        for ref in re.findall(r'(?:src|href)="([^"]+)"', page.text):
            assert ref.startswith(("/", "#", "?", "http://127.0.0.1:8080/b/")), (path, ref)


def test_unknown_listings_and_pages_say_so(api: Api) -> None:
    assert api.client.get("/p/nobody").status_code == 404
    assert api.client.get("/p/acme?page=9").status_code == 400


def test_the_admin_console(api: Api) -> None:
    image = api.store.put(make_jpeg(), "globex", "g.jpg")
    assert api.client.get("/admin", follow_redirects=False).headers["location"] == "/admin/login"
    wrong = api.client.post(
        "/admin/login", data={"csrf": _login_csrf(api.client, "/admin/login"), "admin_key": "no"}
    )
    assert wrong.status_code == 401
    sign_in(api)  # a tenant's session is not the admin's
    assert api.client.get("/admin", follow_redirects=False).headers["location"] == "/admin/login"
    form = {"csrf": _login_csrf(api.client, "/admin/login"), "admin_key": ADMIN_KEY}
    assert api.client.post("/admin/login", data=form, follow_redirects=False).headers["location"] == "/admin"
    console = api.client.get("/admin")
    row = re.search(r'<tr data-tenant="globex">(.*?)</tr>', console.text, re.S)[1]  # type: ignore[index]
    assert '<td class="num">1</td>' in row
    assert 'data-health="catalog">ok<' in console.text and 'data-health="storage">ok<' in console.text
    tenant_page = api.client.get("/admin/tenants/globex")
    assert image.id in tenant_page.text
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', console.text)[1]  # type: ignore[index]
    down = api.client.post(f"/admin/pictures/{image.id}/delete", data={"csrf": csrf}, follow_redirects=False)
    assert down.status_code == 303
    assert api.client.get(f"/v1/images/{image.id}", headers=api.auth("globex")).status_code == 404


def test_a_reused_listing_page_follows_every_change(api: Api) -> None:
    first = api.store.put(make_jpeg(), "acme", "a.jpg")
    second = api.store.put(make_jpeg(color=(1, 2, 3)), "acme", "b.jpg")
    assert api.client.get("/p/acme").text.count("<picture>") == 2
    csrf = sign_in(api)
    headers = {"X-CSRF-Token": csrf, "Accept": "application/json"}
    api.client.post(
        f"/dashboard/pictures/{first.id}/text", data={"alt": "New alt", "caption": "Cap"}, headers=headers
    )
    assert 'alt="New alt"' in api.client.get("/p/acme").text
    api.client.post(f"/dashboard/pictures/{first.id}/move", data={"before": second.id}, headers=headers)
    page = api.client.get("/p/acme").text
    assert page.index(first.id) < page.index(second.id)
    api.client.post("/dashboard/listing", data={"name": "Renamed", "description": ""}, headers=headers)
    assert "<h1>Renamed</h1>" in api.client.get("/p/acme").text
    assert api.client.delete(f"/v1/images/{first.id}", headers=api.auth("acme")).status_code == 204
    page = api.client.get("/p/acme").text
    assert first.id not in page and page.count("<picture>") == 1


def test_the_listing_follows_the_configured_presets(tmp_path: Path) -> None:
    presets = {"small": "width:320", "square": "cover:100x100", "big": "fit:1000x1000"}
    with make_image_store(tmp_path, variants=presets) as store, api_for(store) as api:
        store.put(make_jpeg(1200, 900), "acme", "a.jpg", alt="A")
        (img,) = _listing_images(api.client.get("/p/acme").text)
        srcset = re.search(r'srcset="([^"]+)"', img)[1]  # type: ignore[index]
        widths = sorted(int(c.split()[1].rstrip("w")) for c in srcset.split(", "))
        assert widths == [320, 1000, 1200]  # the original too; the square crop never joins the srcset
        assert 'width="320" height="240"' in img  # no card preset: the widest of its shape up to 800 px
