"""The customer's journey in Chromium, on the file store: sign in, upload, order, describe, publish,
delete; and what another tenant and a used sign-in link cannot do."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.browser.conftest import Site, sign_in
from tests.browser.flows import grid_files, upload, upload_files


def test_upload_order_describe_publish_delete(page: Any, site: Site, tmp_path: Path, browser: Any) -> None:
    sign_in(page, site)
    verdicts = upload(page, upload_files(tmp_path))
    assert "stored" in verdicts["sea.jpg"] and "stored" in verdicts["garden.jpg"]
    # The non-image passed the presign and the upload; `complete` refused it, and the page says so.
    assert "refused" in verdicts["notes.jpg"] and "not_an_image" in verdicts["notes.jpg"]
    assert page.locator(".uppy-Dashboard-Item.is-error").count() == 1

    page.get_by_role("link", name="Show the new pictures").click()
    newest_first = grid_files(page)
    assert sorted(newest_first) == ["garden.jpg", "sea.jpg"]  # the two uploads raced: either is newer
    stored = {i.filename: i for i in site.store.list(site.slug).items}
    assert stored[newest_first[0]].created_at >= stored[newest_first[1]].created_at
    assert page.locator("[data-usage=pictures]").inner_text() == "2"

    # Keyboard reorder: the "later" button of the first picture, reached and pressed from the keyboard.
    page.get_by_role("button", name=f"Move {newest_first[0]} later").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    if newest_first[0] == "sea.jpg":  # bring sea.jpg first whichever way the race went
        page.get_by_role("button", name="Move sea.jpg earlier").focus()
        with page.expect_navigation():
            page.keyboard.press("Enter")
        newest_first.reverse()
    assert grid_files(page) == ["sea.jpg", "garden.jpg"]
    assert page.get_by_label("Order").input_value() == "custom"

    page.get_by_label("Alt text").first.fill("The sea from the balcony")
    page.get_by_label("Caption").first.fill("Room 4")
    with page.expect_navigation():
        page.get_by_role("button", name="Save text").first.click()
    assert page.get_by_label("Alt text").first.input_value() == "The sea from the balcony"

    page.get_by_label("Display name").fill("Acme Flats by the Sea")
    page.get_by_label("Description").fill("Two flats, one view.")
    with page.expect_navigation():
        page.get_by_role("button", name="Save listing").click()

    page.goto(f"{site.url}/p/{site.slug}")
    assert page.get_by_role("heading", level=1).inner_text() == "Acme Flats by the Sea"
    assert page.get_by_text("Two flats, one view.").is_visible()
    images = page.locator(".gallery img")
    assert images.count() == 2
    first, second = images.nth(0), images.nth(1)
    assert first.get_attribute("alt") == "The sea from the balcony"
    assert (first.get_attribute("width"), first.get_attribute("height")) == ("640", "480")
    assert (second.get_attribute("width"), second.get_attribute("height")) == ("600", "800")
    assert re.search(r"/b/var/\S+\.jpg 640w", first.get_attribute("srcset") or "")
    assert page.locator(".gallery source[type='image/webp']").count() == 2
    assert page.locator(".gallery figcaption").first.inner_text() == "Room 4"
    first.evaluate("img => img.decode()")
    assert first.evaluate("img => img.naturalWidth") > 0  # the browser loaded the picture itself

    page.goto(site.url + "/dashboard")
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        page.get_by_role("button", name="Delete garden.jpg").click()
    assert grid_files(page) == ["sea.jpg"]
    # A visitor (this browser may reuse its copy for the page's max-age of a minute) sees one picture.
    visitor = browser.new_page()
    visitor.goto(f"{site.url}/p/{site.slug}")
    assert visitor.locator(".gallery img").count() == 1
    visitor.close()


def test_drag_and_drop_reorders(page: Any, site: Site, tmp_path: Path) -> None:
    for name in ("a.jpg", "b.jpg", "c.jpg"):
        site.store.put(upload_files(tmp_path)[0], site.slug, name)
    sign_in(page, site)
    assert grid_files(page) == ["c.jpg", "b.jpg", "a.jpg"]
    page.locator("[data-grid] li").nth(0).drag_to(page.locator("[data-grid] li").nth(2))
    page.get_by_text("Moved.").wait_for()
    assert grid_files(page) == ["b.jpg", "a.jpg", "c.jpg"]
    page.reload()
    assert grid_files(page) == ["b.jpg", "a.jpg", "c.jpg"]


def test_sign_in_link_works_once(page: Any, site: Site, browser: Any) -> None:
    link = site.store.signin_link(site.slug, ttl="15m")
    page.goto(link)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(re.compile(r".*/dashboard$"))
    assert page.get_by_role("heading", level=1).inner_text() == "Acme Holiday Flats"
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r".*/login\?signed_out$"))
    page.goto(site.url + "/dashboard")
    assert page.url.endswith("/login")  # the session ended with the sign-out

    # The same link again, in a fresh browser: refused.
    other = browser.new_context()
    again = other.new_page()
    again.goto(link)
    again.get_by_role("button", name="Continue").click()
    assert again.get_by_text("this sign-in link was used already or has expired").is_visible()
    again.goto(site.url + "/dashboard")
    assert again.url.endswith("/login")
    other.close()


def test_another_tenant_can_neither_see_nor_change(
    page: Any, site: Site, tmp_path: Path, browser: Any
) -> None:
    image = site.store.put(upload_files(tmp_path)[0], site.slug, "mine.jpg")
    rival = browser.new_context()
    theirs = rival.new_page()
    sign_in(theirs, site, site.others["rival"])
    assert grid_files(theirs) == []
    assert "mine.jpg" not in theirs.content()
    csrf = theirs.locator("meta[name=csrf-token]").get_attribute("content")
    for action, fields in (("delete", {}), ("text", {"alt": "hacked", "caption": ""}), ("move", {"by": "1"})):
        answer = theirs.request.post(
            f"{site.url}/dashboard/pictures/{image.id}/{action}",
            form={"csrf": csrf, **fields},
            headers={"Accept": "application/json"},
        )
        assert answer.status == 404, action
    # Without the session's CSRF token, even one's own pictures cannot be changed.
    sign_in(page, site)
    forged = page.request.post(
        f"{site.url}/dashboard/pictures/{image.id}/delete",
        form={"csrf": csrf},
        headers={"Accept": "application/json"},
    )
    assert forged.status == 403
    assert site.store.get(image.id).alt is None
    rival.close()
