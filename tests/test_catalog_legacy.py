"""Old paths of imported files: the one canonical spelling of a path, the first outcome recorded kept,
look-ups of images and of recorded paths, and a walk in path order across page boundaries.

``picstore.catalog.legacy`` reads the clock through its own ``now_us``, so these tests pin it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

import picstore.catalog.legacy as legacy_rows
from picstore.catalog import Catalog
from picstore.catalog.legacy import LegacyPath, canonical_path
from picstore.catalog.tables import legacy_paths
from tests.catalog_support import migrated_catalog, statements

T0 = 1_700_000_000_000_000


@pytest.fixture
def catalog(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Catalog]:
    monkeypatch.setattr(legacy_rows, "now_us", lambda: T0)
    with migrated_catalog(database_url, "acme") as catalog:
        yield catalog


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        (b"a b.jpg", "/a%20b.jpg"),
        (b"/a b.jpg", "/a%20b.jpg"),
        ("/a b.jpg", "/a%20b.jpg"),
        ("/a%20b.jpg", "/a%20b.jpg"),  # a URL path as sent: its escapes are decoded first
        ("a%2fb.jpg", "/a/b.jpg"),
        (b"//dir/sub//", "/dir/sub"),  # slashes at either end go, inner ones stay
        (b"X/dir/Xa.jpgX", "/X/dir/Xa.jpgX"),  # only slashes are stripped
        (b"dir/\xff\xfe.jpg", "/dir/%FF%FE.jpg"),  # a name in no encoding at all
        ("/caf\u00e9.jpg", "/caf%C3%A9.jpg"),
        (b"a+b&c=d;e~f-g_h.i", "/a%2Bb%26c%3Dd%3Be~f-g_h.i"),  # only the unreserved set stays as it is
        (b"", "/"),
        # A file's name is taken as it is: a percent sign in it is a character, not an escape.
        (b"100%25.jpg", "/100%2525.jpg"),
        ("/100%2525.jpg", "/100%2525.jpg"),
    ],
)
def test_a_path_has_one_canonical_spelling(raw: bytes | str, canonical: str) -> None:
    assert canonical_path(raw) == canonical


def test_the_first_outcome_of_a_path_is_kept(catalog: Catalog) -> None:
    catalog.legacy.record("/a.jpg", "t1", "img1", None)
    catalog.legacy.record("/a.jpg", "t1", None, "corrupt_image")  # a resumed import: ignored
    catalog.legacy.record("/b.jpg", "t1", None, "not_an_image")
    catalog.legacy.record("/c.jpg", None, "img3", None)
    with catalog.engine.connect() as conn:
        rows = conn.execute(select(legacy_paths).order_by(legacy_paths.c.path)).all()
    assert rows == [
        ("/a.jpg", "t1", "img1", None, T0),
        ("/b.jpg", "t1", None, "not_an_image", T0),
        ("/c.jpg", None, "img3", None, T0),
    ]


def test_image_for_answers_only_paths_that_became_images(catalog: Catalog) -> None:
    catalog.legacy.record("/a.jpg", "t1", "img1", None)
    catalog.legacy.record("/b.jpg", "t1", None, "not_an_image")
    assert catalog.legacy.image_for("/a.jpg") == "img1"
    assert catalog.legacy.image_for("/b.jpg") is None  # refused at import
    assert catalog.legacy.image_for("/c.jpg") is None  # never seen


def test_recorded_answers_which_paths_are_known_in_one_query(catalog: Catalog) -> None:
    catalog.legacy.record("/a.jpg", "t1", "img1", None)
    catalog.legacy.record("/b.jpg", "t1", None, "not_an_image")
    with statements(catalog.engine) as seen:
        assert catalog.legacy.recorded(["/a.jpg", "/b.jpg", "/new.jpg"]) == {"/a.jpg", "/b.jpg"}
    assert len([s for s, _ in seen if "legacy_paths" in s]) == 1
    with statements(catalog.engine) as seen:
        assert catalog.legacy.recorded([]) == set()
    assert seen == []  # nothing to ask: no query at all


@pytest.mark.parametrize("page", [1, 2, 3, 4])
def test_walk_yields_every_path_once_in_path_order_whatever_the_page(catalog: Catalog, page: int) -> None:
    for path, image_id in [("/c.jpg", "i3"), ("/a.jpg", "i1"), ("/d.jpg", None), ("/b.jpg", "i2")]:
        catalog.legacy.record(path, "t1", image_id, None if image_id else "corrupt_image")
    assert list(catalog.legacy.walk(page)) == [
        LegacyPath("/a.jpg", "i1", None),
        LegacyPath("/b.jpg", "i2", None),
        LegacyPath("/c.jpg", "i3", None),
        LegacyPath("/d.jpg", None, "corrupt_image"),
    ]


def test_walk_reads_a_page_at_a_time(catalog: Catalog) -> None:
    for n in range(5):
        catalog.legacy.record(f"/{n}.jpg", "t1", f"i{n}", None)
    with statements(catalog.engine) as seen:
        assert len(list(catalog.legacy.walk(2))) == 5
    # Pages of 2, 2 and 1 rows: the short one is the last.
    assert len([s for s, _ in seen if "legacy_paths" in s]) == 3
    assert list(catalog.legacy.walk()) == list(catalog.legacy.walk(5))
    assert [p.path for p in catalog.legacy.walk()] == [f"/{n}.jpg" for n in range(5)]


def test_an_empty_catalog_walks_nothing(catalog: Catalog) -> None:
    assert list(catalog.legacy.walk()) == []
