"""``/docs`` renders the API reference with no host but picstore's reachable (issue 11)."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import Site


def test_docs_render_offline_from_picstore_alone(page: Any, site: Site) -> None:
    hosts: set[str] = set()
    page.on("request", lambda request: hosts.add(request.url.split("/")[2]))
    page.goto(site.url + "/docs")
    # Rendered by Swagger UI from /openapi.json: the operations are there, not just the page's shell.
    page.get_by_text("Prepare a direct upload").first.wait_for()
    assert page.locator(".opblock").count() >= 10
    assert hosts == {site.url.split("/")[2]}


def test_the_front_page_leads_to_sign_in_and_docs(page: Any, site: Site) -> None:
    page.goto(site.url + "/")
    page.get_by_role("link", name="Read the API docs").click()
    page.get_by_text("Prepare a direct upload").first.wait_for()
    page.goto(site.url + "/")
    page.get_by_role("link", name="Sign in").first.click()
    assert page.get_by_label("Your API key").is_visible()
