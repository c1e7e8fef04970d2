"""picstore.contrib.django on real Django (SQLite and PostgreSQL): the model field, the form field, the
template tag, serving through the URLconf mount, the admin's thumbnails and the Storage backend."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from django import forms
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template import Context, Template
from django.test import Client
from sqlalchemy import event

from picstore import ImageStore
from picstore.contrib.django.conf import get_store
from picstore.contrib.django.fields import StoredPicture, prefetch_pictures
from picstore.contrib.django.storage import PicstoreStorage
from picstore.errors import ImageRejected, NotFound
from tests.contrib.corpus_files import ACCEPTED, REFUSED, PictureTags, corpus_file
from tests.contrib.django.conftest import PG_UP
from tests.contrib.django.listings.models import Document, Listing, Scan
from tests.helpers import make_jpeg

DATABASES = [
    pytest.param("default", marks=pytest.mark.django_db),
    pytest.param(
        "pg",
        marks=[
            pytest.mark.postgres,
            pytest.mark.skipif(not PG_UP, reason="PostgreSQL not reachable; set PICSTORE_TEST_PG"),
            pytest.mark.django_db(databases=["default", "pg"]),
        ],
    ),
]


def _upload(name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name.rsplit("/", 1)[-1], corpus_file(name).read_bytes())


def _fetch(client: Client, url: str) -> bytes:
    resp = client.get(url)
    assert resp.status_code == 200, (url, resp.status_code)
    assert resp["Cache-Control"].endswith("immutable")
    return b"".join(resp.streaming_content)  # type: ignore[attr-defined]


class ListingForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Listing
        fields = ("name", "owner", "photo")


@pytest.mark.parametrize("db", DATABASES)
def test_model_save_load_delete(
    db: str, picstore: ImageStore, settings: Any, request: pytest.FixtureRequest
) -> None:
    if db == "pg":  # PostgreSQL for Django's rows and for picstore's catalog alike
        settings.PICSTORE = {**settings.PICSTORE, "DATABASE": request.getfixturevalue("pg_url")}
        picstore = get_store()
        assert picstore.engine.dialect.name == "postgresql"
    listing = Listing(name="Bakery", owner="bakery", photo=_upload(ACCEPTED))
    listing.save(using=db)
    assert isinstance(listing.photo, StoredPicture)
    loaded = Listing.objects.using(db).get(pk=listing.pk)
    photo = loaded.photo
    assert isinstance(photo, StoredPicture) and photo.id == listing.photo.id
    image = picstore.get(photo.id, "bakery")  # stored for the callable's tenant
    assert (photo.width, photo.height, photo.alt) == (image.width, image.height, "")
    assert photo.url() == picstore.url(image.id)
    assert photo.url("card", "webp") == picstore.url(image.id, "card", "webp")
    assert photo.url("card", "webp").startswith("/pictures/b/")  # follows the URLconf's prefix
    webp = photo.srcset("webp")
    assert webp and all(c.split()[1].endswith("w") for c in webp.split(", "))
    client = Client()
    served = _fetch(client, photo.url("card", "jpeg"))
    assert hashlib.sha256(served).hexdigest() == image.variant("card", "jpeg").sha256  # type: ignore[union-attr]
    assert loaded.logo is None
    loaded.delete()
    with pytest.raises(NotFound):
        picstore.get(image.id)
    assert client.get(photo.url("card", "jpeg")).status_code == 404


@pytest.mark.django_db
def test_assigning_an_image_or_an_id_and_queryset_delete(picstore: ImageStore) -> None:
    from picstore.contrib.pictures import ensure_tenant

    ensure_tenant(picstore, "logos")
    image = picstore.put(make_jpeg(300, 200), "logos", alt="our logo")
    listing = Listing.objects.create(name="A", logo=image)
    assert Listing.objects.get(pk=listing.pk).logo.alt == "our logo"  # type: ignore[union-attr]
    Listing.objects.create(name="B", logo=image.id)
    Listing.objects.filter(name="B").delete()  # per-row delete signals: the image goes with its row
    with pytest.raises(NotFound):
        picstore.get(image.id)
    Listing.objects.get(pk=listing.pk).delete()  # the picture is gone already: harmless


@pytest.mark.django_db
def test_form_refuses_what_ingest_refuses_with_picstores_message(picstore: ImageStore) -> None:
    form = ListingForm({"name": "x", "owner": "acme"}, {"photo": _upload(REFUSED)})
    assert not form.is_valid()
    (error,) = form.errors.as_data()["photo"]
    assert error.code == "corrupt_image"
    assert error.message and "corrupt" in error.message.lower()
    assert picstore.tenants() == [] or picstore.list("acme").items == ()

    not_an_image = SimpleUploadedFile("notes.jpg", b"just some text, not a picture")
    form = ListingForm({"name": "x", "owner": "acme"}, {"photo": not_an_image})
    assert not form.is_valid() and form.errors.as_data()["photo"][0].code == "not_an_image"


@pytest.mark.django_db
def test_form_accepts_a_good_file_and_stores_it_on_save(picstore: ImageStore) -> None:
    form = ListingForm({"name": "Bakery", "owner": "bakery"}, {"photo": _upload(ACCEPTED)})
    assert form.is_valid(), form.errors
    listing = form.save()
    assert [i.id for i in picstore.list("bakery").items] == [listing.photo.id]
    # Editing without a new file keeps the picture; the widget shows its thumbnail.
    again = ListingForm({"name": "Bakery 2", "owner": "bakery"}, {}, instance=listing)
    assert again.is_valid(), again.errors
    assert again.save().photo == listing.photo
    rendered = str(ListingForm(instance=listing)["photo"])
    assert f'src="{listing.photo.url("thumb", "jpeg")}"' in rendered


@pytest.mark.django_db
def test_template_tag_renders_picture_and_every_url_serves(picstore: ImageStore) -> None:
    for i, owner in enumerate(["bakery", "florist", "garage"]):
        Listing(
            name=f"L{i}",
            owner=owner,
            photo=SimpleUploadedFile("p.jpg", make_jpeg(900, 600, (i * 80, 30, 200 - i * 50))),
        ).save()
    client = Client()
    page = client.get("/").content.decode()
    tags = PictureTags.parse(page)
    assert [t for t, _ in tags.tags] == ["picture", "source", "img"] * 3
    img = tags.tags[2][1]
    assert (img["width"], img["height"]) == ("640", "427")
    assert img["sizes"] == "(max-width: 600px) 100vw, 600px" and img["loading"] == "lazy"
    assert tags.tags[1][1]["type"] == "image/webp"
    urls = tags.urls()
    assert len(urls) == 3 * 4  # card and large, in WebP and JPEG, for each of the three
    known = {v.sha256 for lst in Listing.objects.all() for v in lst.photo.image.variants}  # type: ignore[union-attr]
    for url in urls:
        assert hashlib.sha256(_fetch(client, url)).hexdigest() in known

    first = Listing.objects.order_by("id").first()
    assert first is not None
    first.name = "Bob's <shop>"
    tpl = Template('{% load picstore %}{% picture l.photo "card" alt=l.name loading="eager" %}')
    rendered = tpl.render(Context({"l": first}))
    assert "<shop>" not in rendered  # escaped, like every value in the tag
    img = PictureTags.parse(rendered).tags[2][1]
    assert (img["alt"], img["loading"]) == ("Bob's <shop>", "eager")
    tpl = Template('{% load picstore %}[{% picture l.logo %}][{% srcset l.photo "webp" %}]')
    out = tpl.render(Context({"l": Listing.objects.first()}))
    assert out.startswith("[][/pictures/b/var/")


@pytest.mark.django_db
def test_a_page_of_pictures_costs_the_same_catalog_queries_however_long(picstore: ImageStore) -> None:
    for i in range(12):
        Listing(name=f"L{i}", photo=SimpleUploadedFile("p.jpg", make_jpeg(320, 200, (i, 1, 1)))).save()
    statements: list[str] = []
    event.listen(picstore.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))

    def page_cost(n: int) -> int:
        statements.clear()
        rows = list(Listing.objects.order_by("id")[:n])
        prefetch_pictures(rows, "photo")
        for row in rows:
            row.photo.url("card", "webp")  # type: ignore[union-attr]
            row.photo.srcset("jpeg")  # type: ignore[union-attr]
        return len(statements)

    # The images, their variants and all their URLs in one statement, however many rows.
    assert page_cost(1) == page_cost(12) == 1


@pytest.mark.django_db
def test_admin_shows_thumbnails(picstore: ImageStore) -> None:
    listing = Listing(name="Bakery", owner="bakery", photo=_upload(ACCEPTED))
    listing.save()
    User.objects.create_superuser("admin", "a@example.test", "pw-for-tests")
    client = Client()
    client.login(username="admin", password="pw-for-tests")
    for i in range(4):
        Listing(name=f"more {i}", photo=SimpleUploadedFile("p.jpg", make_jpeg(300, 200, (i, 50, 50)))).save()
    thumb = listing.photo.url("thumb", "jpeg")  # type: ignore[union-attr]
    statements: list[str] = []
    event.listen(picstore.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    changelist = client.get("/admin/listings/listing/").content.decode()
    assert changelist.count('class="picstore-thumb"') == 5
    assert len(statements) == 1  # PictureAdminMixin: the page's pictures in one statement, not a read per row
    change = client.get(f"/admin/listings/listing/{listing.pk}/change/").content.decode()
    for page in (changelist, change):
        assert f'src="{thumb}"' in page
    _fetch(client, thumb)


@pytest.mark.django_db
def test_storage_backend_follows_djangos_storage_contract(picstore: ImageStore, settings: Any) -> None:
    storage = PicstoreStorage(tenant="files")
    data = corpus_file(ACCEPTED).read_bytes()
    name = storage.save("uploads/shop front.jpg", ContentFile(data))
    assert name.endswith(".jpg") and "/" not in name and storage.exists(name)
    image = picstore.get(name.split(".")[0], "files")
    assert image.filename == "shop front.jpg"
    assert storage.size(name) == image.bytes
    with storage.open(name) as fh:
        assert hashlib.sha256(fh.read()).hexdigest() == image.sha256
    assert hashlib.sha256(_fetch(Client(), storage.url(name))).hexdigest() == image.sha256
    assert storage.get_modified_time(name) == image.created_at
    assert storage.listdir("") == ([], [name])
    second = storage.save("uploads/shop front.jpg", ContentFile(data))
    assert second != name  # a save never overwrites
    storage.delete(name)
    assert not storage.exists(name)
    storage.delete(name)  # deleting a missing file is not an error
    assert not storage.exists("no/such/file.jpg")
    with pytest.raises(ImageRejected) as refused:
        storage.save("evil.jpg", ContentFile(corpus_file(REFUSED).read_bytes()))
    assert refused.value.code == "corrupt_image"
    with pytest.raises(ValueError, match="immutable"):
        storage.open(second, "wb")

    # As default_storage, and behind a plain FileField.
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "picstore.contrib.django.storage.PicstoreStorage",
            "OPTIONS": {"tenant": "files"},
        },
    }
    saved = default_storage.save("a.jpg", ContentFile(make_jpeg()))
    assert default_storage.exists(saved) and default_storage.url(saved).startswith("/pictures/b/img/")
    doc = Document()
    doc.attachment.save("scan.jpg", ContentFile(data))
    reloaded = Document.objects.get(pk=doc.pk)
    assert reloaded.attachment.name == doc.attachment.name
    assert reloaded.attachment.url == storage.url(doc.attachment.name)
    assert reloaded.attachment.size == picstore.get(doc.attachment.name.split(".")[0]).bytes


@pytest.mark.django_db
def test_the_mount_answers_under_asgi_django_too(picstore: ImageStore) -> None:
    import asyncio
    import warnings

    from django.test import AsyncClient

    listing = Listing(name="A", photo=SimpleUploadedFile("p.jpg", make_jpeg(300, 200)))
    listing.save()
    url = listing.photo.url("card", "webp")  # type: ignore[union-attr]

    async def fetch() -> Any:
        # An ASGIRequest: its META, not a WSGI environ, is what the view hands on to a2wsgi.
        return await AsyncClient().get(url)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Django notes that it consumes the WSGI answer in a thread
        resp = asyncio.run(fetch())
        body = b"".join(resp.streaming_content)
    assert resp.status_code == 200 and resp["Content-Type"] == "image/webp"
    assert hashlib.sha256(body).hexdigest() == listing.photo.image.variant("card", "webp").sha256  # type: ignore[union-attr]


@pytest.mark.django_db
def test_the_api_answers_through_the_django_mount(picstore: ImageStore) -> None:
    _, key = picstore.create_tenant("acme")
    client = Client()
    # The request body goes through Django untouched (no CSRF for the Bearer-authenticated API).
    resp = client.post(
        "/pictures/v1/images",
        {"file": SimpleUploadedFile("a.jpg", make_jpeg(), "image/jpeg"), "alt": "front"},
        headers={"Authorization": f"Bearer {key}"},
    )
    body = b"".join(resp.streaming_content)  # type: ignore[attr-defined]
    assert resp.status_code == 201, body
    image_id = resp["Location"].rsplit("/", 1)[1]
    assert resp["Location"] == f"/pictures/v1/images/{image_id}"
    assert picstore.get(image_id, "acme").alt == "front"
    for path, status in (("/pictures/v1/images", 401), ("/pictures/healthz", 200)):
        answer = client.get(path)
        assert answer.status_code == status
        assert b"".join(answer.streaming_content)  # type: ignore[attr-defined]  # read, as a server would


@pytest.mark.django_db
def test_storage_meets_djangos_requirements_for_custom_storages(picstore: ImageStore, tmp_path: Any) -> None:
    """What Django's "How to write a custom storage class" asks, and its ImageField and FieldFile using it."""
    from django.core.files import File

    # Instantiable without arguments; deconstructible, so migrations can write it out.
    assert PicstoreStorage().tenant is None
    assert PicstoreStorage(tenant="files").deconstruct() == (
        "picstore.contrib.django.storage.PicstoreStorage",
        (),
        {"tenant": "files"},
    )
    # An ImageField: Django reads the dimensions back through the storage (the stored, cleaned picture's).
    path = tmp_path / "scan.jpg"
    path.write_bytes(make_jpeg(640, 480))
    scan = Scan()
    with path.open("rb") as fh:
        scan.image.save("scans/scan.jpg", File(fh), save=True)
    stored = picstore.get(scan.image.name.split(".")[0], "files")
    reloaded = Scan.objects.get(pk=scan.pk)
    assert (reloaded.width, reloaded.height) == (stored.width, stored.height) == (640, 480)
    assert (reloaded.image.width, reloaded.image.height) == (640, 480)
    assert reloaded.image.size == stored.bytes and reloaded.image.url == picstore.url(stored.id)
    with reloaded.image.open("rb") as fh:
        assert hashlib.sha256(fh.read()).hexdigest() == stored.sha256
    # FieldFile.delete goes through Storage.delete: the picture is gone.
    reloaded.image.delete(save=True)
    assert not reloaded.image and Scan.objects.get(pk=scan.pk).image.name == ""
    with pytest.raises(NotFound):
        picstore.get(stored.id)
