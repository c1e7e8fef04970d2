"""A tenant's listing (picstore.listings) on SQLite and PostgreSQL: order, text, usage, isolation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from picstore import ImageStore
from picstore.errors import InvalidRequest, NotFound
from picstore.listings import Listings
from picstore.settings import load_settings
from tests.helpers import make_jpeg


@pytest.fixture
def listings(tmp_path: Path, database_url: str) -> Iterator[Listings]:
    settings = load_settings(storage=(tmp_path / "blobs").as_uri(), database=database_url)
    with ImageStore.from_settings(settings) as store:
        store.create_tenant("acme")
        store.create_tenant("globex")
        yield Listings(store)


def _names(listings: Listings, tenant: str = "acme", per_page: int = 50, page: int = 1) -> list[str | None]:
    return [p.image.filename for p, _ in listings.page(tenant, page, per_page).pictures]


def _put(listings: Listings, *names: str, tenant: str = "acme") -> dict[str, str]:
    return {
        n: listings.store.put(make_jpeg(color=(i * 20, 10, 10)), tenant, n).id for i, n in enumerate(names)
    }


def test_newest_first_until_the_customer_orders(listings: Listings) -> None:
    ids = _put(listings, "a.jpg", "b.jpg", "c.jpg", "d.jpg")
    assert _names(listings) == ["d.jpg", "c.jpg", "b.jpg", "a.jpg"]
    listings.move("acme", ids["a.jpg"], ids["d.jpg"])
    assert listings.page("acme").listing.custom_order
    assert _names(listings) == ["a.jpg", "d.jpg", "c.jpg", "b.jpg"]
    listings.shift("acme", ids["a.jpg"], 1)
    listings.place_after("acme", ids["c.jpg"], ids["b.jpg"])
    assert _names(listings) == ["d.jpg", "a.jpg", "b.jpg", "c.jpg"]
    listings.move("acme", ids["d.jpg"], None)
    assert _names(listings) == ["a.jpg", "b.jpg", "c.jpg", "d.jpg"]
    listings.shift("acme", ids["a.jpg"], -1)  # already first: stays
    assert _names(listings) == ["a.jpg", "b.jpg", "c.jpg", "d.jpg"]
    # A new upload comes first; then the chosen order; paging follows the same order.
    _put(listings, "e.jpg")
    assert _names(listings, per_page=2, page=1) == ["e.jpg", "a.jpg"]
    assert _names(listings, per_page=2, page=3) == ["d.jpg"]
    listings.set_custom_order("acme", False)
    assert _names(listings) == ["e.jpg", "d.jpg", "c.jpg", "b.jpg", "a.jpg"]


def test_text_and_listing(listings: Listings) -> None:
    ids = _put(listings, "a.jpg")
    listings.set_text("acme", ids["a.jpg"], alt="  A sunny room ", caption="Room 1")
    ((picture, _),) = listings.page("acme").pictures
    assert picture.image.alt == "A sunny room" and picture.caption == "Room 1"
    listings.describe("acme", name="Acme Flats", description="By the sea.")
    found = listings.page("acme")
    assert found.tenant.name == "Acme Flats" and found.listing.description == "By the sea."
    with pytest.raises(InvalidRequest, match="keep it to 500"):
        listings.set_text("acme", ids["a.jpg"], alt="x" * 501, caption="")


def test_one_tenant_cannot_touch_anothers_pictures(listings: Listings) -> None:
    theirs = _put(listings, "g.jpg", tenant="globex")["g.jpg"]
    mine = _put(listings, "a.jpg")["a.jpg"]
    with pytest.raises(NotFound):
        listings.set_text("acme", theirs, alt="x", caption="y")
    with pytest.raises(NotFound):
        listings.move("acme", theirs, None)
    with pytest.raises(NotFound):
        listings.move("acme", mine, theirs)
    with pytest.raises(NotFound):
        listings.place_after("acme", mine, theirs)
    assert listings.store.get(theirs).alt is None
    assert _names(listings, "globex") == ["g.jpg"]


def test_usage_counts_masters_and_variants(listings: Listings) -> None:
    image = listings.store.get(_put(listings, "a.jpg", "b.jpg")["a.jpg"])
    usage = listings.usage("acme")
    assert usage.pictures == 2
    assert usage.bytes >= 2 * image.bytes + sum(v.bytes for v in image.variants)
    by_tenant = {t.slug: u for t, u in listings.usage_by_tenant()}
    assert by_tenant["globex"].pictures == 0 and by_tenant["acme"] == usage


def test_deleting_a_picture_forgets_its_place(listings: Listings) -> None:
    ids = _put(listings, "a.jpg", "b.jpg")
    listings.set_text("acme", ids["a.jpg"], alt="", caption="c")
    listings.move("acme", ids["a.jpg"], None)
    listings.store.delete(ids["a.jpg"])
    assert _names(listings) == ["b.jpg"]
