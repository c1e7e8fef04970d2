"""Image rows on a real catalog: every field round-trips, pages break between rows of one microsecond,
idempotency keys are per tenant, a delete orphans exactly the blobs it frees; and the page cursor's
checks at their boundaries."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Connection, insert, select

from picstore import errors
from picstore.catalog import Catalog
from picstore.catalog.clock import from_us
from picstore.catalog.cursor import decode_cursor, encode_cursor
from picstore.catalog.reservations import Reservation
from picstore.catalog.tables import blobs, variants
from picstore.models import BlobLocation, Image, Variant
from tests.catalog_support import migrated_catalog, statements, without_index_scans


@pytest.fixture
def catalog(database_url: str) -> Iterator[Catalog]:
    with migrated_catalog(database_url, "acme", "other") as catalog:
        yield catalog


def _loc(key: str) -> BlobLocation:
    return BlobLocation(key, "memory://a", 10, "a" * 64, "image/webp")


def _image(image_id: str, *, tenant: str = "acme", created_us: int = 1_000_000, n: int = 0) -> Image:
    return Image(
        id=image_id,
        tenant=tenant,
        format="png",
        width=30 + n,
        height=20 + n,
        bytes=1234 + n,
        sha256=f"{n:064d}",
        created_at=from_us(created_us),
        key=f"img/{image_id}.png",
        frames=3,
        filename=f"{image_id}.png",
        alt=f"the {image_id}",
        variants=(
            Variant("small", "webp", 8, 6, 99, "b" * 64, f"v/{image_id}/small.webp"),
            Variant("thumb", "avif", 4, 3, 55, "c" * 64, f"v/{image_id}/thumb.avif"),
            Variant("thumb", "webp", 4, 3, 66, "d" * 64, f"v/{image_id}/thumb.webp"),
        ),
    )


def _add(catalog: Catalog, image: Image, tenant_id: str = "t1", idempotency_key: str | None = None) -> Image:
    keys = [image.key, *(v.key for v in image.variants)]
    reservation = catalog.blobs.reserve([_loc(k) for k in keys])
    return catalog.images.add(image, tenant_id, reservation, idempotency_key)


def test_an_image_round_trips_every_field_and_its_presets_in_order(catalog: Catalog) -> None:
    image = _image("abc", n=1)
    assert _add(catalog, image) == image
    # A transform rendition is a variant row too, but never one of the image's presets.
    catalog.blobs.reserve([_loc("v/abc/t.webp")])
    with catalog.engine.begin() as conn:
        conn.execute(
            insert(variants).values(
                image_id="abc", name="t:w100", format="webp", blob_key="v/abc/t.webp", width=1, height=1,
                bytes=1, sha256="e" * 64,
            )
        )  # fmt: skip
    assert catalog.images.get("abc") == image
    assert catalog.images.many(["abc", "nope"]) == [image]
    assert catalog.images.many([]) == []
    with pytest.raises(errors.NotFound, match=r"no image 'nope'"):
        catalog.images.get("nope")


def test_presets_come_back_ordered_by_name_then_format(catalog: Catalog) -> None:
    image = _image("abc")
    shuffled = Image(**{**image.__dict__, "variants": image.variants[::-1]})
    _add(catalog, shuffled)
    assert catalog.images.get("abc").variants == image.variants
    assert catalog.images.many(["abc"])[0].variants == image.variants


def test_an_image_without_variants_or_names(catalog: Catalog) -> None:
    bare = Image("bare", "acme", "gif", 1, 2, 3, "f" * 64, from_us(5), "img/bare.gif")
    assert _add(catalog, bare) == bare
    assert catalog.images.get("bare") == bare


def test_pages_are_newest_first_and_break_between_rows_of_one_microsecond(catalog: Catalog) -> None:
    # Three images share a created_us: the id orders them, and a page may end between them.
    # The ids sort against the times, and the rows of one time are written oldest id first.
    for image_id, created in [("e5", 5), ("b2", 7), ("c3", 7), ("d4", 7), ("a1", 9)]:
        _add(catalog, _image(image_id, created_us=created))
    _add(catalog, _image("zz", created_us=8), tenant_id="t2")
    seen: list[list[str]] = []
    cursor = None
    while True:
        page = catalog.images.page("t1", 2, cursor)
        seen.append([i.id for i in page.items])
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == [["a1", "d4"], ["c3", "b2"], ["e5"]]
    first = catalog.images.page("t1", 2, None)
    assert first.next_cursor == encode_cursor(7, "d4")
    # A page that holds the last rows exactly has no next page.
    assert catalog.images.page("t1", 5, None).next_cursor is None
    assert [i.id for i in catalog.images.page("t1", 4, None).items] == ["a1", "d4", "c3", "b2"]
    assert catalog.images.page("t1", 4, None).next_cursor == encode_cursor(7, "b2")
    assert [i.id for i in catalog.images.page("t1", 9, encode_cursor(7, "c3")).items] == ["b2", "e5"]
    assert [i.tenant for i in catalog.images.page("t2", 9, None).items] == ["other"]


def test_count_all_or_one_tenant(catalog: Catalog) -> None:
    _add(catalog, _image("a1"))
    _add(catalog, _image("a2"))
    _add(catalog, _image("b1"), tenant_id="t2")
    assert (catalog.images.count(), catalog.images.count("t1"), catalog.images.count("t2")) == (3, 2, 1)


def test_an_idempotency_key_makes_one_image_per_tenant_and_gives_the_retry_its_rows_back(
    catalog: Catalog,
) -> None:
    first = _add(catalog, _image("one"), idempotency_key="k")
    retry = _add(catalog, _image("two", n=2), idempotency_key="k")
    assert retry == first
    with catalog.engine.connect() as conn:
        held = conn.execute(select(blobs.c.key).where(blobs.c.reservations > 0)).scalars().all()
        retry_blob = conn.execute(select(blobs.c.orphaned_us).where(blobs.c.key == "img/two.png")).scalar()
    assert held == [] and retry_blob is not None  # the retry's blob is an ordinary orphan
    other = _add(catalog, _image("three", tenant="other"), tenant_id="t2", idempotency_key="k")
    assert other.id == "three"
    assert _add(catalog, _image("four"), idempotency_key=None).id == "four"
    assert _add(catalog, _image("five"), idempotency_key="k2").id == "five"
    assert catalog.images.count() == 4  # one, three, four, five


def test_a_lost_reservation_is_a_conflict_with_or_without_an_idempotency_key(catalog: Catalog) -> None:
    for key in (None, "fresh"):
        image = _image(f"late{key}")
        held = catalog.blobs.reserve([_loc(image.key)])
        with pytest.raises(errors.Conflict, match="send it again"):
            catalog.images.add(image, "t1", Reservation(held.keys, 0), key)
    assert catalog.images.count() == 0


def test_delete_orphans_the_blobs_only_this_image_used(catalog: Catalog) -> None:
    one = _add(catalog, _image("one"))
    two = _image("two")
    shared = Variant("small", "webp", 8, 6, 99, "b" * 64, one.variants[0].key)  # the same bytes
    _add(catalog, Image(**{**two.__dict__, "variants": (shared,)}))
    orphaned = catalog.images.delete("one")
    assert orphaned == sorted([one.key, one.variants[1].key, one.variants[2].key])
    assert catalog.images.get("two").variants == (shared,)
    with pytest.raises(errors.NotFound, match=r"no image 'one'"):
        catalog.images.delete("one")
    assert catalog.images.delete("two") == sorted(["img/two.png", shared.key])


# --- located: images with where each of their blobs lives, in one statement ---------------------------


def _add_located(catalog: Catalog, image: Image, tenant_id: str = "t1") -> dict[str, BlobLocation]:
    """Add ``image`` with each blob in a store, size, digest and type of its own; their locations by key."""
    keys = [image.key, *(v.key for v in image.variants)]
    where = {
        k: BlobLocation(k, f"memory://{k}", 1000 + n, f"{n:064x}", f"image/x-{n}") for n, k in enumerate(keys)
    }
    catalog.images.add(image, tenant_id, catalog.blobs.reserve(list(where.values())), None)
    return where


def test_located_gives_the_images_and_where_each_of_their_blobs_lives(catalog: Catalog) -> None:
    one, two = _image("one", n=1), _image("two", n=2)
    bare = Image("bare", "other", "gif", 1, 2, 3, "f" * 64, from_us(5), "img/bare.gif")
    where = {**_add_located(catalog, two), **_add_located(catalog, bare, "t2"), **_add_located(catalog, one)}
    catalog.blobs.reserve([_loc("v/one/t.webp")])
    with catalog.engine.begin() as conn:  # a transform rendition: a variant row, but no preset
        conn.execute(
            insert(variants).values(
                image_id="one", name="t:w100", format="webp", blob_key="v/one/t.webp", width=1, height=1,
                bytes=1, sha256="e" * 64,
            )
        )  # fmt: skip
    with statements(catalog.engine) as seen:
        found, locations = catalog.images.located(["two", "nope", "one", "bare"])
    assert len(seen) == 1
    assert found == [bare, one, two]  # by id
    assert locations == where  # every blob of the three, the rendition's left out
    assert catalog.images.located(["nope"]) == ([], {})


def test_located_images_are_in_id_order_whatever_their_variants_names(catalog: Catalog) -> None:
    first, last = _image("aaa"), _image("zzz")
    early = Variant("aa", "webp", 8, 6, 99, "b" * 64, "v/zzz/aa.webp")  # sorts before all of aaa's presets
    _add_located(catalog, first)
    _add_located(catalog, Image(**{**last.__dict__, "variants": (early, *last.variants)}))
    found, _ = catalog.images.located(["zzz", "aaa"])
    assert [i.id for i in found] == ["aaa", "zzz"]
    assert [v.name for v in found[1].variants] == ["aa", "small", "thumb", "thumb"]


# --- order comes from ORDER BY, not from an index ---------------------------------------------------------


@pytest.fixture
def unindexed(pg_url: str) -> Iterator[Catalog]:
    with migrated_catalog(without_index_scans(pg_url), "acme") as catalog:
        yield catalog


@pytest.mark.postgres
def test_presets_are_ordered_by_name_then_format_without_an_index(unindexed: Catalog) -> None:
    image = _image("abc")
    shuffled = Image(**{**image.__dict__, "variants": image.variants[::-1]})  # written thumb.webp first
    _add(unindexed, shuffled)
    assert unindexed.images.get("abc").variants == image.variants
    assert unindexed.images.located(["abc"])[0][0].variants == image.variants


@pytest.mark.postgres
def test_images_of_one_microsecond_are_newest_id_first_without_an_index(unindexed: Catalog) -> None:
    for image_id in ["a", "b", "c", "d"]:  # written in the order the page must not follow
        _add(unindexed, _image(image_id, created_us=7))
    assert [i.id for i in unindexed.images.page("t1", 9, None).items] == ["d", "c", "b", "a"]
    page = unindexed.images.page("t1", 2, None)
    assert [i.id for i in page.items] == ["d", "c"]
    assert [i.id for i in unindexed.images.page("t1", 2, page.next_cursor).items] == ["b", "a"]


# --- the cursor ------------------------------------------------------------------------------------


def _raw(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("created_us", "image_id"),
    # "0:W" encodes to MDpX: a cursor may end in any base64url letter, X included.
    [(0, "a"), (2**63 - 1, "Z9"), (7, "x" * 5), (12, "ab"), (123, "abc"), (0, "W")],
)
def test_a_cursor_round_trips_at_every_padding_and_the_bigint_ends(created_us: int, image_id: str) -> None:
    cursor = encode_cursor(created_us, image_id)
    assert "=" not in cursor
    assert decode_cursor(cursor) == (created_us, image_id)


def test_a_cursor_splits_at_the_first_colon_only() -> None:
    assert decode_cursor(_raw("5:ab")) == (5, "ab")
    assert encode_cursor(5, "ab") == _raw("5:ab")


@pytest.mark.parametrize(
    "raw",
    ["-1:abc", f"{2**63}:abc", "5:ab:c", "5:", "5:a-b", "5:ab\x00", "5:\u00e9t\u00e9", "abc", "x:abc", ""],
)
def test_a_crafted_cursor_is_an_invalid_request(raw: str) -> None:
    with pytest.raises(
        errors.InvalidRequest, match=r"^invalid cursor: pass the next_cursor of a previous page$"
    ):
        decode_cursor(_raw(raw))


@pytest.mark.parametrize(
    "cursor", ["!!!!", "\u00e9", _raw("5:ab") + "x", base64.b64encode(b"\xff\xfe:ab").decode()]
)
def test_a_cursor_that_is_not_base64url_text_is_an_invalid_request(cursor: str) -> None:
    with pytest.raises(errors.InvalidRequest):
        decode_cursor(cursor)


def test_a_created_at_round_trips_to_the_microsecond(catalog: Catalog) -> None:
    moment = datetime(2026, 12, 1, 20, 59, 51, 123457, tzinfo=UTC)
    image = _image("when")
    image = Image(**{**image.__dict__, "created_at": moment})
    _add(catalog, image)
    assert catalog.images.get("when").created_at == moment


def test_the_loser_of_a_race_on_one_idempotency_key_answers_with_the_winners_image(
    catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    winner = _add(catalog, _image("one"), idempotency_key="k")
    # The loser looked before the winner committed: it found nothing, and its insert then collides.
    looks: list[str] = []
    real = catalog.images._by_idempotency_key

    def late(conn: Connection, tenant_id: str, key: str) -> str | None:
        looks.append(key)
        return None if len(looks) == 1 else real(conn, tenant_id, key)

    monkeypatch.setattr(catalog.images, "_by_idempotency_key", late)
    assert _add(catalog, _image("two", n=2), idempotency_key="k") == winner
    with catalog.engine.connect() as conn:
        held = conn.execute(select(blobs.c.key).where(blobs.c.reservations > 0)).scalars().all()
        orphaned = conn.execute(select(blobs.c.orphaned_us).where(blobs.c.key == "img/two.png")).scalar()
    assert held == [] and orphaned is not None  # the loser's reservation given back, its blob an orphan
    assert catalog.images.count() == 1 and looks == ["k", "k"]
