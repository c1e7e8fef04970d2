"""The public listing in Chromium: the lightbox by keyboard, JavaScript off, a 360 px phone."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import Site, sign_in
from tests.helpers import make_jpeg


@pytest.fixture
def listing(site: Site) -> Site:
    for n, (w, h) in enumerate([(1600, 1200), (1200, 1600), (1600, 1200)]):
        site.store.put(make_jpeg(w, h, (40 * n, 120, 200)), site.slug, f"p{n}.jpg", alt=f"Picture {n}")
    return site


def test_the_lightbox_works_from_the_keyboard(page: Any, listing: Site) -> None:
    page.goto(f"{listing.url}/p/{listing.slug}")
    page.keyboard.press("Tab")  # the first picture's link is the first thing to focus
    assert page.evaluate("document.activeElement.dataset.alt") == "Picture 2"
    page.keyboard.press("Enter")
    dialog = page.locator("dialog#lightbox")
    assert dialog.evaluate("d => d.open")
    assert dialog.locator("img").get_attribute("alt") == "Picture 2"
    page.keyboard.press("ArrowRight")
    assert dialog.locator("img").get_attribute("alt") == "Picture 1"
    page.keyboard.press("Escape")
    assert not dialog.evaluate("d => d.open")
    # Focus goes back to the picture last shown (the close handler runs after the key event).
    page.wait_for_function("document.activeElement.dataset.alt === 'Picture 1'", timeout=5000)


def test_the_listing_works_without_javascript(browser: Any, listing: Site) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{listing.url}/p/{listing.slug}")
    assert page.locator(".gallery img").count() == 3
    page.get_by_role("link", name="Picture 1: view large").click()
    page.wait_for_url(f"**/p/{listing.slug}/*")
    big = page.locator("picture img")
    assert big.get_attribute("alt") == "Picture 1" and big.get_attribute("width") == "1200"
    context.close()


def _chosen_width(page: Any) -> int:
    """The width of the srcset candidate the browser chose for the first picture."""
    first = page.locator(".gallery picture").first
    first.locator("img").evaluate("img => img.decode()")
    chosen = first.locator("img").evaluate("img => img.currentSrc")
    candidates = first.locator("source").first.get_attribute("srcset") or ""
    widths = {url: int(w.rstrip("w")) for url, w in (c.strip().split() for c in candidates.split(","))}
    assert chosen in widths, (chosen, widths)  # the WebP source won, as it should in Chromium
    return widths[chosen]


def test_the_browser_picks_a_width_that_fits(browser: Any, listing: Site) -> None:
    desktop = browser.new_context(viewport={"width": 1280, "height": 800}, device_scale_factor=1)
    page = desktop.new_page()
    page.goto(f"{listing.url}/p/{listing.slug}")
    assert _chosen_width(page) == 640  # a third of 1280 px: the card, not the 1600 px rendition
    desktop.close()
    phone = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2)
    page = phone.new_page()
    page.goto(f"{listing.url}/p/{listing.slug}")
    assert _chosen_width(page) == 1600  # 720 device pixels wide: the card would be blurry
    phone.close()


def test_a_360_px_phone_needs_no_sideways_scrolling(browser: Any, listing: Site) -> None:
    context = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2)
    page = context.new_page()
    for path in ("/", "/login", "/admin/login", "/docs", f"/p/{listing.slug}"):
        page.goto(listing.url + path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, path
    sign_in(page, listing)
    page.locator(".uppy-Dashboard").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360, "/dashboard"
    context.close()
