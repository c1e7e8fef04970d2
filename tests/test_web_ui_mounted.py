"""The web UI mounted in another application under ``/pictures`` (``store.asgi_app("/pictures")`` in
FastAPI, ``store.wsgi_app()`` under ``SCRIPT_NAME``): every link, form, script, redirect and cookie of
its pages stays under the prefix and answers there. No browser: the pages' HTML, parsed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from werkzeug.test import Client

from picstore import ImageStore
from picstore.models import Image
from tests.helpers import make_jpeg
from tests.http_support import ADMIN_KEY, make_image_store

PREFIX = "/pictures"


class _Paths(HTMLParser):
    """Every same-origin absolute path a page points at (href, src, action), and <body>'s data-root."""

    def __init__(self) -> None:
        super().__init__()
        self.paths: list[str] = []
        self.root: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            linked = name in ("href", "src", "action", "data-token-url")
            if linked and value and value.startswith("/") and not value.startswith("//"):
                self.paths.append(value)
            if tag == "body" and name == "data-root":
                self.root = value


@pytest.fixture
def mounted(tmp_path: Path) -> Iterator[tuple[TestClient, ImageStore, str, Image]]:
    store = make_image_store(tmp_path)
    with store:
        key = store.create_tenant("acme")[1]
        image = store.put(make_jpeg(), "acme", "a.jpg")
        host = FastAPI()

        @host.get("/")
        def home() -> dict[str, str]:
            return {"app": "host"}

        host.mount(PREFIX, store.asgi_app(PREFIX))
        with TestClient(host) as client:
            yield client, store, key, image


def _page(client: TestClient, path: str) -> tuple[str, list[str]]:
    """GET a UI page and check every path it points at: under the prefix, and answering there."""
    page = client.get(path)
    assert page.status_code == 200, (path, page.status_code)
    parsed = _Paths()
    parsed.feed(page.text)
    assert parsed.root == PREFIX, path
    assert parsed.paths, path
    for target in parsed.paths:
        assert target == PREFIX or target.startswith(PREFIX + "/"), (path, target)
        # Form actions answer GET with 405; what matters is that the route exists under the prefix.
        answer = client.get(target.split("#")[0], follow_redirects=False)
        assert answer.status_code != 404, (path, target)
    return page.text, parsed.paths


def _form_csrf(text: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', text)[1]  # type: ignore[index]


def _action(text: str, ending: str) -> str:
    return re.search(rf'action="([^"]*{re.escape(ending)})"', text)[1]  # type: ignore[index]


def test_every_ui_page_points_inside_the_mount(
    mounted: tuple[TestClient, ImageStore, str, Image],
) -> None:
    client, store, key, image = mounted
    assert client.get(PREFIX + "/dashboard", follow_redirects=False).headers["location"] == PREFIX + "/login"
    for path in ("/", "/docs", "/admin/login", "/p/acme", f"/p/acme/{image.id}"):
        _page(client, PREFIX + path)
    assert client.get(PREFIX + "/openapi.json").status_code == 200

    text, _ = _page(client, PREFIX + "/login")
    signed_in = client.post(_action(text, "/login"), data={"csrf": _form_csrf(text), "api_key": key})
    assert signed_in.status_code == 200 and signed_in.url.path == PREFIX + "/dashboard"
    cookies = [r.headers["set-cookie"] for r in signed_in.history]
    assert any(c.startswith("picstore_session=") and "Path=/pictures;" in c + ";" for c in cookies), cookies
    assert "Path=/;" not in ";".join(cookies) + ";"
    dashboard, paths = _page(client, PREFIX + "/dashboard")
    assert f"{PREFIX}/dashboard/pictures/{image.id}/text" in paths
    assert f"{PREFIX}/dashboard/upload-token" in paths

    # Sign out through the page's form: back to the prefix's sign-in, the cookie forgotten on its path.
    out = client.post(_action(dashboard, "/logout"), data={"csrf": _form_csrf(dashboard)})
    assert out.url.path == PREFIX + "/login" and "signed_out" in str(out.url)
    assert "Path=/pictures" in out.history[0].headers["set-cookie"]
    assert client.get(PREFIX + "/dashboard", follow_redirects=False).headers["location"] == PREFIX + "/login"

    # A sign-in link the store hands out leads to a form under the prefix, and to the dashboard.
    link = store.signin_link("acme")
    assert link.startswith(PREFIX + "/login/link/")
    text, _ = _page(client, link)
    used = client.post(_action(text, link.removeprefix(PREFIX)), data={"csrf": _form_csrf(text)})
    assert used.url.path == PREFIX + "/dashboard"

    # The admin console, signed in through its own form.
    text = client.get(PREFIX + "/admin/login").text
    form = {"csrf": _form_csrf(text), "admin_key": ADMIN_KEY}
    admin = client.post(_action(text, "/admin/login"), data=form)
    assert admin.url.path == PREFIX + "/admin"
    _page(client, PREFIX + "/admin")
    _page(client, PREFIX + "/admin/tenants/acme")


def test_back_is_followed_only_inside_the_mount(
    mounted: tuple[TestClient, ImageStore, str, Image],
) -> None:
    client, _, key, image = mounted
    text = client.get(PREFIX + "/login").text
    client.post(PREFIX + "/login", data={"csrf": _form_csrf(text), "api_key": key})
    csrf = _form_csrf(client.get(PREFIX + "/dashboard").text)
    here = f"{PREFIX}/dashboard?page=1#pic-{image.id}"
    refused = [
        "/dashboard",  # the host's own /dashboard, outside the mount
        "//evil.example/pictures/dashboard",
        "https://evil.example/pictures/dashboard",
        f"{PREFIX}/dashboard/../../admin",
        f"{PREFIX}/dashboard/%2E%2E/%2e%2e/x",
        f"{PREFIX}/dashboardx",
        f"{PREFIX}/admin",
    ]
    for back, expected in [(here, here), *((b, PREFIX + "/dashboard") for b in refused)]:
        answer = client.post(
            PREFIX + "/dashboard/order",
            data={"csrf": csrf, "mode": "custom", "back": back},
            follow_redirects=False,
        )
        assert answer.status_code == 303 and answer.headers["location"] == expected, back
    # A refused change's page leads back inside the mount too.
    wrong = client.post(PREFIX + "/dashboard/order", data={"csrf": csrf, "mode": "sideways", "back": here})
    assert wrong.status_code == 400 and f'href="{here}"' in wrong.text


def test_upload_cors_answers_under_the_mount(mounted: tuple[TestClient, ImageStore, str, Image]) -> None:
    client = mounted[0]
    preflight = client.options(
        PREFIX + "/v1/uploads",
        headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 204 and preflight.headers["access-control-allow-origin"] == "*"


def test_the_wsgi_mount_takes_the_prefix_from_script_name(tmp_path: Path) -> None:
    with make_image_store(tmp_path) as store:
        client = Client(store.wsgi_app(PREFIX))
        page = client.get("/login", environ_overrides={"SCRIPT_NAME": PREFIX})
        parsed = _Paths()
        parsed.feed(page.text)
        assert parsed.root == PREFIX and parsed.paths
        assert all(p.startswith(PREFIX + "/") for p in parsed.paths), parsed.paths
        assert "Path=/pictures" in page.headers["set-cookie"]
        away = client.get("/dashboard", environ_overrides={"SCRIPT_NAME": PREFIX})
        assert away.status_code == 303 and away.headers["location"] == PREFIX + "/login"
