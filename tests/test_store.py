"""ImageStore end to end on the file and memory backends, with SQLite and PostgreSQL catalogs."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import pytest

from picstore import ImageStore, errors
from picstore.settings import load_settings
from tests.helpers import make_jpeg


@pytest.fixture
def any_store(database_url: str, tmp_path: Path) -> ImageStore:
    settings = load_settings(storage=(tmp_path / "blobs").as_uri(), database=database_url)
    s = ImageStore.from_settings(settings)
    yield s
    s.close()


def test_put_get_open_round_trip(any_store: ImageStore) -> None:
    _tenant, key = any_store.create_tenant("acme", "Acme Listings")
    assert key.startswith("psk_") and len(key) > 40
    image = any_store.put(make_jpeg(), "acme", filename="shop front.jpg")
    assert image.tenant == "acme" and image.format == "jpeg"
    assert image.filename == "shop front.jpg"
    data = any_store.read(image.id)
    assert len(data) == image.bytes
    assert hashlib.sha256(data).hexdigest() == image.sha256
    assert image.key == f"img/{image.sha256[:2]}/{image.sha256[2:4]}/{image.sha256}.jpg"
    again = any_store.get(image.id)
    assert again == image
    with any_store.open(image.id) as fh:
        assert fh.read() == data


def test_put_accepts_path_and_file_object(image_store: ImageStore, tmp_path: Path) -> None:
    image_store.create_tenant("acme")
    p = tmp_path / "x.jpg"
    p.write_bytes(make_jpeg(color=(1, 2, 3)))
    by_path = image_store.put(p, "acme")
    with p.open("rb") as fh:
        by_file = image_store.put(fh, "acme")
    by_str = image_store.put(str(p), "acme")
    assert by_path.sha256 == by_file.sha256 == by_str.sha256
    assert len({by_path.id, by_file.id, by_str.id}) == 3  # three images, one blob
    assert sum(1 for _ in image_store.blobs.list("img/")) == 1


def test_ids_are_random_and_filenames_never_reach_keys(image_store: ImageStore) -> None:
    image_store.create_tenant("acme")
    image = image_store.put(make_jpeg(), "acme", filename="../../etc/passwd\n.jpg")
    assert "passwd" not in image.key and ".." not in image.key
    assert image.filename == "passwd.jpg"
    ids = {image_store.put(make_jpeg(), "acme").id for _ in range(20)}
    assert len(ids) == 20 and all(len(i) == 24 and i.isalnum() for i in ids)


def test_refusal_stores_nothing(any_store: ImageStore) -> None:
    any_store.create_tenant("acme")
    with pytest.raises(errors.NotAnImage) as info:
        any_store.put(b"<html><script>alert(1)</script></html>", "acme", filename="x.jpg")
    assert info.value.code == "not_an_image"
    assert list(any_store.blobs.list()) == []
    assert any_store.list("acme").items == ()


def test_too_large_is_refused_before_reading_everything(tmp_path: Path) -> None:
    settings = load_settings(storage="memory://", database="sqlite://", max_bytes=1000)
    with ImageStore.from_settings(settings) as s:
        s.create_tenant("acme")
        with pytest.raises(errors.TooLarge):
            s.put(make_jpeg(200, 200) + b"\0" * 2000, "acme")


def test_unknown_tenant_and_image(image_store: ImageStore) -> None:
    with pytest.raises(errors.NotFound):
        image_store.put(make_jpeg(), "nobody")
    with pytest.raises(errors.NotFound) as info:
        image_store.get("doesnotexist")
    assert isinstance(info.value, FileNotFoundError)


def test_tenant_slug_rules_and_uniqueness(image_store: ImageStore) -> None:
    for bad in ["", "UPPER", "a b", "-lead", "x" * 65, "../x", "é"]:
        with pytest.raises(errors.InvalidRequest):
            image_store.create_tenant(bad)
    image_store.create_tenant("acme")
    with pytest.raises(errors.Conflict):
        image_store.create_tenant("acme")


def test_api_keys_authenticate_and_are_stored_hashed(image_store: ImageStore) -> None:
    tenant, key = image_store.create_tenant("acme")
    assert image_store.authenticate(key) == tenant
    assert image_store.authenticate(key + "x") is None
    assert image_store.authenticate("") is None
    with image_store.engine.connect() as conn:
        dump = "\n".join(str(r) for r in conn.exec_driver_sql("SELECT * FROM tenants"))
    assert key not in dump


def test_list_pages_newest_first(any_store: ImageStore) -> None:
    any_store.create_tenant("acme")
    any_store.create_tenant("other")
    made = [any_store.put(make_jpeg(color=(i, i, i)), "acme").id for i in range(7)]
    any_store.put(make_jpeg(), "other")
    seen: list[str] = []
    cursor = None
    while True:
        page = any_store.list("acme", limit=3, cursor=cursor)
        seen += [i.id for i in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == list(reversed(made))
    with pytest.raises(errors.InvalidRequest):
        any_store.list("acme", cursor="!!garbage!!")
    with pytest.raises(errors.InvalidRequest):
        any_store.list("acme", limit=0)


def test_tenant_scoped_get_and_delete(image_store: ImageStore) -> None:
    image_store.create_tenant("a")
    image_store.create_tenant("b")
    image = image_store.put(make_jpeg(), "a")
    with pytest.raises(errors.NotFound):
        image_store.get(image.id, tenant="b")
    with pytest.raises(errors.NotFound):
        image_store.delete(image.id, tenant="b")
    assert image_store.get(image.id, tenant="a").id == image.id


def test_delete_then_gc_removes_unshared_blobs_only(any_store: ImageStore) -> None:
    any_store.create_tenant("acme")
    data = make_jpeg()
    first = any_store.put(data, "acme")
    second = any_store.put(data, "acme")  # same bytes: shares the blob
    any_store.delete(first.id)
    with pytest.raises(errors.NotFound):
        any_store.get(first.id)
    assert any_store.gc(grace_seconds=0) == []  # still used by `second`
    assert any_store.read(second.id)
    any_store.delete(second.id)
    assert any_store.gc(grace_seconds=3600) == []  # within the grace period
    removed = any_store.gc(grace_seconds=0)
    assert second.key in removed
    with pytest.raises(errors.NotFound):
        any_store.blobs.head(second.key)


def test_reupload_after_orphaning_keeps_blob(image_store: ImageStore) -> None:
    image_store.create_tenant("acme")
    data = make_jpeg()
    first = image_store.put(data, "acme")
    image_store.delete(first.id)
    again = image_store.put(data, "acme")  # the orphan mark is cleared: gc must not take it
    assert image_store.gc(grace_seconds=0) == []
    assert image_store.read(again.id)


def test_idempotency_key_makes_one_image(image_store: ImageStore) -> None:
    image_store.create_tenant("acme")
    a = image_store.put(make_jpeg(), "acme", idempotency_key="req-1")
    b = image_store.put(make_jpeg(), "acme", idempotency_key="req-1")
    assert a.id == b.id
    assert len(image_store.list("acme").items) == 1


def test_concurrent_identical_uploads_make_one_blob(any_store: ImageStore) -> None:
    any_store.create_tenant("acme")
    data = make_jpeg(100, 80)
    barrier = threading.Barrier(8)
    results: list[str] = []
    failures: list[BaseException] = []

    def upload() -> None:
        barrier.wait()
        try:
            results.append(any_store.put(data, "acme").id)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=upload) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert len(set(results)) == 8
    assert len([b for b in any_store.blobs.list("img/")]) == 1


def test_url_points_at_blob_route(image_store: ImageStore) -> None:
    image_store.create_tenant("acme")
    image = image_store.put(make_jpeg(), "acme")
    assert image_store.url(image.id) == f"{image_store.settings.base_url}/b/{image.key}"
    with pytest.raises(errors.NotFound):
        image_store.url(image.id, "nosuchvariant")
    described = image_store.describe(image)
    assert described["url"] == image_store.url(image.id)
    assert set(described) >= {
        "id",
        "tenant",
        "format",
        "width",
        "height",
        "bytes",
        "sha256",
        "url",
        "variants",
    }


def test_health(image_store: ImageStore) -> None:
    assert image_store.health() == {"catalog": "ok", "storage": "ok"}


def test_memory_backend() -> None:
    with ImageStore(storage="memory://", database="sqlite://") as s:
        s.create_tenant("acme")
        image = s.put(make_jpeg(), "acme")
        assert s.read(image.id) == s.blobs.get(image.key)


def test_concurrent_retries_with_one_idempotency_key_make_one_image(any_store: ImageStore) -> None:
    any_store.create_tenant("acme")
    barrier = threading.Barrier(6)
    ids: list[str] = []

    def upload(i: int) -> None:
        barrier.wait()
        ids.append(any_store.put(make_jpeg(color=(i, 0, 0)), "acme", idempotency_key="req-42").id)

    threads = [threading.Thread(target=upload, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ids) == 6 and len(set(ids)) == 1
    assert [i.id for i in any_store.list("acme").items] == ids[:1]


def test_put_records_real_dimensions_and_variants(image_store: ImageStore) -> None:
    from PIL import Image as PILImage

    image_store.create_tenant("acme")
    image = image_store.put(make_jpeg(900, 600), "acme")
    assert (image.width, image.height) == (900, 600)
    names = {(v.name, v.format) for v in image.variants}
    assert names == {(n, f) for n in ("thumb", "card", "large") for f in ("jpeg", "webp")}
    url = image_store.url(image.id, "card", "webp")
    assert url.endswith(".webp") and url == image_store.blob_url(image.variant("card", "webp").key)  # type: ignore[union-attr]
    with image_store.open(image.id, "card", "webp") as fh:
        decoded = PILImage.open(fh)
        assert decoded.format == "WEBP" and decoded.size == (640, 427)
    assert image_store.get(image.id) == image  # variants come back from the catalog as stored


def _age_orphans(image_store: ImageStore, seconds: float) -> None:
    """Pretend every orphan was orphaned ``seconds`` earlier than it was."""
    from sqlalchemy import update

    from picstore.catalog.tables import blobs

    with image_store.engine.begin() as conn:
        conn.execute(
            update(blobs)
            .where(blobs.c.orphaned_us.is_not(None))
            .values(orphaned_us=blobs.c.orphaned_us - int(seconds * 1_000_000))
        )


def test_gc_racing_a_reupload_never_leaves_a_row_without_bytes(any_store: ImageStore) -> None:
    from picstore.ops.verify import verify

    any_store.create_tenant("acme")
    data = make_jpeg(300, 200)
    first = any_store.put(data, "acme")
    any_store.delete(first.id)
    _age_orphans(any_store, 7200)  # long past the grace period: gc may take them now
    original = any_store.blobs.put
    collected: list[list[str]] = []

    def put_then_gc(*args: object, **kwargs: object) -> object:
        # The re-upload finds its blobs already stored; gc runs before the upload records them.
        try:
            return original(*args, **kwargs)  # type: ignore[arg-type]
        finally:
            if not collected:
                collected.append(any_store.gc(grace_seconds=3600))

    any_store.blobs.put = put_then_gc  # type: ignore[method-assign]
    again = any_store.put(data, "acme")
    any_store.blobs.put = original  # type: ignore[method-assign]
    assert collected == [[]]  # the upload restarted the orphans' clock before it wrote anything
    assert any_store.read(again.id) and any_store.read(again.id, "thumb", "webp")
    assert verify(any_store).ok


def test_an_upload_that_dies_before_its_catalog_write_leaves_nothing_after_gc(
    any_store: ImageStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    any_store.create_tenant("acme")

    def crash(*_: object, **__: object) -> None:
        raise errors.CatalogUnavailable("database went away")

    monkeypatch.setattr(any_store.catalog.images, "add", crash)
    with pytest.raises(errors.CatalogUnavailable):
        any_store.put(make_jpeg(300, 200), "acme")
    monkeypatch.undo()
    written = [b.key for b in any_store.blobs.list()]
    assert len(written) == 7  # master + 3 presets x 2 formats reached the store...
    assert any_store.gc(grace_seconds=3600) == []  # ...and wait out the grace period
    _age_orphans(any_store, 7200)
    assert sorted(any_store.gc(grace_seconds=3600)) == sorted(written)
    assert list(any_store.blobs.list()) == []
    assert list(any_store.catalog.blobs.walk()) == []


def test_a_variant_rendered_differently_records_the_stored_bytes(image_store: ImageStore) -> None:
    from picstore.keys import variant_key

    image_store.create_tenant("acme")
    data = make_jpeg(300, 200)
    first = image_store.put(data, "acme")
    thumb = first.variant("thumb", "jpeg")
    assert thumb is not None
    image_store.delete(first.id)
    image_store.gc(grace_seconds=0)
    # Another libvips once rendered other bytes under the same spec-addressed key (the row is gone).
    other = make_jpeg(200, 200, (9, 9, 9))
    spec_key = thumb.key
    image_store.blobs.put(spec_key, other, content_type="image/jpeg")
    again = image_store.put(data, "acme")
    recorded = again.variant("thumb", "jpeg")
    assert recorded is not None and recorded.key == spec_key
    assert recorded.sha256 == hashlib.sha256(other).hexdigest() and recorded.bytes == len(other)
    assert image_store.catalog.blobs.get(spec_key).sha256 == recorded.sha256
    assert variant_key(again.sha256, "x", "jpeg").startswith(f"var/{again.sha256}/")
