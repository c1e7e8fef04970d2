"""The web UI mounted in another application under ``/pictures`` (issue 16), in Chromium: its scripts
(the upload widget, the dashboard's drag and drop, Swagger UI's OpenAPI document) find picstore under
the prefix, not at the root of the origin, which belongs to the host application."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import ADMIN_KEY, LiveServer, Site, free_port, sign_in
from tests.browser.flows import grid_files, upload, upload_files

PREFIX = "/pictures"


@pytest.fixture
def mounted(tmp_path: Path) -> Iterator[Site]:
    """A FastAPI host app with its own ``/`` and picstore mounted at ``/pictures`` (no public URL set)."""
    from fastapi import FastAPI

    from picstore import ImageStore
    from picstore.settings import load_settings

    config = load_settings(
        storage=(tmp_path / "blobs").as_uri(),
        database=f"sqlite:///{tmp_path / 'catalog.db'}",
        admin_key=ADMIN_KEY,
    )
    with ImageStore(settings=config) as store:
        _, key = store.create_tenant("acme", "Acme Holiday Flats")
        host = FastAPI()

        @host.get("/")
        def home() -> dict[str, str]:
            return {"app": "host"}

        host.mount(PREFIX, store.asgi_app(PREFIX))
        port = free_port()
        with LiveServer(store, port, app=host):
            yield Site(url=f"http://127.0.0.1:{port}{PREFIX}", store=store, api_key=key)


def test_the_mounted_ui_uploads_reorders_documents_and_signs_out(
    page: Any, mounted: Site, tmp_path: Path
) -> None:
    origin = mounted.url.removesuffix(PREFIX)
    outside: list[str] = []
    # Every request over the network (not blob: previews) goes to the mount.
    page.on("request", lambda r: r.url.startswith(("http:", "https:")) and outside.append(r.url))

    sign_in(page, mounted)
    assert page.url == mounted.url + "/dashboard"
    verdicts = upload(page, upload_files(tmp_path)[:2])
    assert "stored" in verdicts["sea.jpg"] and "stored" in verdicts["garden.jpg"], verdicts
    page.get_by_role("link", name="Show the new pictures").click()
    before = grid_files(page)
    assert sorted(before) == ["garden.jpg", "sea.jpg"]
    page.locator("[data-grid] li").nth(0).drag_to(page.locator("[data-grid] li").nth(1))
    page.get_by_text("Moved.").wait_for()
    page.reload()
    assert grid_files(page) == before[::-1]

    page.goto(mounted.url + "/docs")
    page.get_by_text("Prepare a direct upload").first.wait_for()

    page.goto(mounted.url + "/dashboard")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(re.escape(mounted.url) + r"/login\?signed_out$"))
    assert [u for u in outside if not u.startswith(mounted.url + "/")] == []  # not the host app's paths
    assert page.request.get(origin + "/").json() == {"app": "host"}
