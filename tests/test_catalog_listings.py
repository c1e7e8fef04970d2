"""Tenants' listings on a real catalog, at the level of their rows: the defaults, what each change writes
(and to which tenant only), the fingerprint, the listing order with its ties, paging, captions, usage, and
moves that give every picture its place.

``picstore.catalog.listings`` reads the clock through its own ``now_us``, so these tests pin it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import insert, select, update

import picstore.catalog.listings as listing_rows
from picstore import errors
from picstore.catalog import Catalog
from picstore.catalog.listings import Listing, Usage
from picstore.catalog.tables import blobs, images, listing_pictures, listings, tenants, variants
from tests.catalog_support import Clock, add_rows, migrated_catalog, pinned_clock

T0 = 1_700_000_000_000_000

# add_rows makes ids "<tenant id><n:08d>", created one microsecond apart from 1_000_000.
A, B, C, D = (f"t1{n:08d}" for n in range(4))


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return pinned_clock(monkeypatch, T0, listing_rows)


@pytest.fixture
def catalog(database_url: str, clock: Clock) -> Iterator[Catalog]:
    with migrated_catalog(database_url, "acme", "globex") as catalog:
        yield catalog


def _listing_rows(catalog: Catalog) -> list[Any]:
    with catalog.engine.connect() as conn:
        return list(conn.execute(select(listings).order_by(listings.c.tenant_id)).all())


def _picture_rows(catalog: Catalog) -> list[Any]:
    with catalog.engine.connect() as conn:
        query = select(
            listing_pictures.c.image_id,
            listing_pictures.c.tenant_id,
            listing_pictures.c.position,
            listing_pictures.c.caption,
        ).order_by(listing_pictures.c.image_id)
        return list(conn.execute(query).all())


def _variant(catalog: Catalog, image_id: str, name: str, size: int) -> None:
    key = f"var/{image_id}/{name}"
    with catalog.engine.begin() as conn:
        conn.execute(
            insert(blobs).values(
                key=key,
                store="memory://x",
                size=size,
                sha256="0" * 64,
                content_type="image/webp",
                created_us=1,
            )
        )
        conn.execute(
            insert(variants).values(
                image_id=image_id, name=name, format="webp", blob_key=key, width=1, height=1, bytes=size,
                sha256="0" * 64,
            )
        )  # fmt: skip


# --- settings and fingerprint --------------------------------------------------------------------------


def test_a_listing_never_changed_has_the_defaults(catalog: Catalog) -> None:
    assert catalog.listings.listing("t1") == Listing(description="", custom_order=False)
    assert catalog.listings.fingerprint("t1") == (0, 0, 0, "Acme")
    assert _listing_rows(catalog) == []


def test_each_change_writes_its_field_and_the_time_and_keeps_the_others(
    catalog: Catalog, clock: Clock
) -> None:
    catalog.listings.set_listing("t1", description="By the sea.")
    assert _listing_rows(catalog) == [("t1", "By the sea.", False, T0)]
    clock.now = T0 + 1
    catalog.listings.set_custom_order("t1", True)
    assert _listing_rows(catalog) == [("t1", "By the sea.", True, T0 + 1)]
    assert catalog.listings.listing("t1") == Listing("By the sea.", True)
    clock.now = T0 + 2
    catalog.listings.set_listing("t1", name="Acme Flats")  # the name only: the description stays
    assert _listing_rows(catalog) == [("t1", "By the sea.", True, T0 + 2)]
    assert catalog.listings.fingerprint("t1") == (0, 0, T0 + 2, "Acme Flats")
    clock.now = T0 + 3
    catalog.listings.set_custom_order("t1", False)
    catalog.listings.set_listing("t1", description="")
    assert catalog.listings.listing("t1") == Listing("", False)
    # The other tenant is untouched.
    assert catalog.listings.listing("t2") == Listing("", False)
    assert catalog.listings.fingerprint("t2") == (0, 0, 0, "Globex")
    assert [r.tenant_id for r in _listing_rows(catalog)] == ["t1"]


def test_a_first_change_of_the_order_alone_leaves_no_description(catalog: Catalog) -> None:
    catalog.listings.set_custom_order("t2", True)
    assert _listing_rows(catalog) == [("t2", None, True, T0)]
    assert catalog.listings.listing("t2") == Listing("", True)


def test_a_first_change_of_the_name_alone_keeps_the_chosen_order_off(catalog: Catalog) -> None:
    catalog.listings.set_listing("t1", name="Acme Flats")
    assert _listing_rows(catalog) == [("t1", None, False, T0)]
    with catalog.engine.connect() as conn:
        names = dict(conn.execute(select(tenants.c.id, tenants.c.name)).all())
    assert names == {"t1": "Acme Flats", "t2": "Globex"}


def test_the_fingerprint_counts_the_pictures_and_the_newest(catalog: Catalog) -> None:
    add_rows(catalog.engine, "t1", 3)
    add_rows(catalog.engine, "t2", 5, start_us=9_000_000)
    assert catalog.listings.fingerprint("t1") == (3, 1_000_002, 0, "Acme")
    assert catalog.listings.fingerprint("t2") == (5, 9_000_004, 0, "Globex")
    assert catalog.listings.fingerprint("nobody") == (0, 0, 0, "")


# --- order and pages -----------------------------------------------------------------------------------


def _four_pictures(catalog: Catalog) -> None:
    """A, B, C, D of t1 (C and D made in one microsecond) and one picture of t2."""
    add_rows(catalog.engine, "t1", 4)
    add_rows(catalog.engine, "t2", 1, start_us=5_000_000)
    with catalog.engine.begin() as conn:
        conn.execute(update(images).where(images.c.id == D).values(created_us=1_000_002))


def test_newest_first_ties_by_id_and_only_the_tenants_own(catalog: Catalog) -> None:
    _four_pictures(catalog)
    assert catalog.listings.order("t1", custom_order=False) == [D, C, B, A]
    assert catalog.listings.order("t1", custom_order=True) == [D, C, B, A]  # none placed yet
    pictures = catalog.listings.pictures("t1", custom_order=False, limit=10)
    assert [p.image.id for p in pictures] == [D, C, B, A]
    assert {p.image.tenant for p in pictures} == {"acme"} and {p.caption for p in pictures} == {""}
    assert [p.image.id for p in catalog.listings.pictures("t2", custom_order=False, limit=10)] == [
        "t200000000"
    ]


@pytest.mark.parametrize(
    ("limit", "offset", "page"), [(2, 0, [D, C]), (2, 2, [B, A]), (3, 3, [A]), (1, 4, [])]
)
def test_a_page_is_a_slice_of_the_order(catalog: Catalog, limit: int, offset: int, page: list[str]) -> None:
    _four_pictures(catalog)
    found = catalog.listings.pictures("t1", custom_order=False, limit=limit, offset=offset)
    assert [p.image.id for p in found] == page


def test_placed_pictures_come_after_new_ones_by_place(catalog: Catalog) -> None:
    _four_pictures(catalog)
    catalog.listings.move("t1", A, None)  # everything placed: D, C, B, A
    catalog.listings.move("t1", B, D)  # B, D, C, A
    assert catalog.listings.order("t1", custom_order=True) == [B, D, C, A]
    assert catalog.listings.order("t1", custom_order=False) == [D, C, B, A]
    with catalog.engine.begin() as conn:
        conn.execute(
            insert(blobs).values(key="k/e", store="m://", size=1, sha256="0", content_type="x", created_us=1)
        )
        conn.execute(
            insert(blobs).values(key="k/f", store="m://", size=1, sha256="0", content_type="x", created_us=1)
        )
        for image_id, key, created in [("t1e", "k/e", 1), ("t1f", "k/f", 2)]:  # older than all: still first
            conn.execute(
                insert(images).values(
                    id=image_id, tenant_id="t1", blob_key=key, format="jpeg", width=1, height=1, frames=1,
                    bytes=1, sha256="0", created_us=created,
                )
            )  # fmt: skip
    assert catalog.listings.order("t1", custom_order=True) == ["t1f", "t1e", B, D, C, A]
    pictures = catalog.listings.pictures("t1", custom_order=True, limit=3, offset=1)
    assert [p.image.id for p in pictures] == ["t1e", B, D]


# --- text ----------------------------------------------------------------------------------------------


def test_set_text_writes_alt_and_caption_and_marks_the_listing_changed(
    catalog: Catalog, clock: Clock
) -> None:
    _four_pictures(catalog)
    catalog.listings.set_text("t1", B, alt="A sunny room", caption="Room 1")
    assert _picture_rows(catalog) == [(B, "t1", None, "Room 1")]
    assert catalog.images.get(B).alt == "A sunny room"
    assert catalog.listings.fingerprint("t1")[2] == T0
    clock.now = T0 + 1
    catalog.listings.set_text("t1", B, alt="", caption="")  # cleared: stored as no text
    assert _picture_rows(catalog) == [(B, "t1", None, None)]
    assert catalog.images.get(B).alt is None
    assert catalog.listings.fingerprint("t1")[2] == T0 + 1
    catalog.listings.set_text("t1", C, alt="c", caption="Room 3")
    by_id = {p.image.id: p for p in catalog.listings.pictures("t1", custom_order=False, limit=10)}
    assert by_id[C].caption == "Room 3" and by_id[B].caption == "" and by_id[A].caption == ""


def test_set_text_keeps_a_pictures_place(catalog: Catalog) -> None:
    _four_pictures(catalog)
    catalog.listings.move("t1", A, D)
    catalog.listings.set_text("t1", A, alt="a", caption="first")
    assert _picture_rows(catalog)[0] == (A, "t1", 0, "first")
    assert catalog.listings.order("t1", custom_order=True) == [A, D, C, B]


def test_set_text_on_another_tenants_picture_is_not_found_and_changes_nothing(catalog: Catalog) -> None:
    _four_pictures(catalog)
    with pytest.raises(errors.NotFound) as caught:
        catalog.listings.set_text("t2", A, alt="x", caption="y")
    assert caught.value.message == f"no picture {A!r}"
    assert catalog.images.get(A).alt is None
    assert _picture_rows(catalog) == [] and _listing_rows(catalog) == []


# --- moves ---------------------------------------------------------------------------------------------


def test_a_move_places_every_picture_and_switches_to_the_chosen_order(catalog: Catalog, clock: Clock) -> None:
    _four_pictures(catalog)
    catalog.listings.move("t1", B, D)
    assert catalog.listings.listing("t1") == Listing("", True)
    assert _listing_rows(catalog) == [("t1", None, True, T0)]
    assert _picture_rows(catalog) == [
        (A, "t1", 3, None),
        (B, "t1", 0, None),
        (C, "t1", 2, None),
        (D, "t1", 1, None),
    ]
    catalog.listings.move("t1", D, None)  # to the end
    assert catalog.listings.order("t1", custom_order=True) == [B, C, A, D]
    assert _picture_rows(catalog) == [
        (A, "t1", 2, None),
        (B, "t1", 0, None),
        (C, "t1", 1, None),
        (D, "t1", 3, None),
    ]
    catalog.listings.move("t1", A, B)  # to the front
    assert catalog.listings.order("t1", custom_order=True) == [A, B, C, D]
    assert [r.position for r in _picture_rows(catalog)] == [0, 1, 2, 3]


def test_a_move_in_the_newest_first_order_starts_from_what_the_customer_sees(catalog: Catalog) -> None:
    _four_pictures(catalog)
    catalog.listings.move("t1", A, None)
    catalog.listings.move("t1", A, D)
    catalog.listings.set_custom_order("t1", False)
    # Seen newest first (D, C, B, A): moving C before D starts from that order, not from the places kept.
    catalog.listings.move("t1", C, D)
    assert catalog.listings.order("t1", custom_order=True) == [C, D, B, A]


def test_a_move_writes_only_the_places_that_change(catalog: Catalog) -> None:
    _four_pictures(catalog)
    catalog.listings.move("t1", A, None)  # D, C, B, A: all placed
    with catalog.engine.begin() as conn:  # mark each row to see which ones the next move writes
        conn.execute(update(listing_pictures).values(caption="kept"))
    catalog.listings.move("t1", B, C)  # D, B, C, A: B and C change place, D and A do not
    assert _picture_rows(catalog) == [
        (A, "t1", 3, "kept"),
        (B, "t1", 1, "kept"),
        (C, "t1", 2, "kept"),
        (D, "t1", 0, "kept"),
    ]


@pytest.mark.parametrize(
    ("image_id", "before", "missing"),
    [
        ("t200000000", None, "t200000000"),
        (A, "t200000000", "t200000000"),
        ("nope", A, "nope"),
        (A, "nope", "nope"),
    ],
)
def test_a_move_of_or_before_a_picture_not_the_tenants_is_not_found(
    catalog: Catalog, image_id: str, before: str | None, missing: str
) -> None:
    _four_pictures(catalog)
    with pytest.raises(errors.NotFound) as caught:
        catalog.listings.move("t1", image_id, before)
    assert caught.value.message == f"no picture {missing!r}"
    assert _picture_rows(catalog) == [] and _listing_rows(catalog) == []


# --- usage ---------------------------------------------------------------------------------------------


def test_usage_counts_pictures_and_bytes_of_masters_and_variants_per_tenant(catalog: Catalog) -> None:
    add_rows(catalog.engine, "t1", 3)  # 100 bytes each
    add_rows(catalog.engine, "t2", 1)
    _variant(catalog, A, "small", 7)
    _variant(catalog, A, "thumb", 5)
    _variant(catalog, B, "small", 11)
    assert catalog.listings.usage() == {"t1": Usage(3, 323), "t2": Usage(1, 100)}
    assert catalog.listings.usage("t1") == {"t1": Usage(3, 323)}
    assert catalog.listings.usage("t2") == {"t2": Usage(1, 100)}


def test_usage_leaves_out_tenants_without_pictures(catalog: Catalog) -> None:
    add_rows(catalog.engine, "t1", 1)
    assert catalog.listings.usage() == {"t1": Usage(1, 100)}
    assert catalog.listings.usage("t2") == {}
