"""Direct uploads from a Django form, on real Django and the file store: the widget's markup and script,
the three API calls a browser makes (through the URLconf mount), and the server-side check of the upload
id the form posts. The same in Chromium (and on S3): tests/browser/test_django_direct.py."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django import forms
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from picstore import ImageStore
from picstore.contrib.django.conf import get_store
from picstore.contrib.django.direct import DirectPictureInput
from picstore.contrib.django.fields import StoredPicture
from picstore.contrib.django.forms import PictureFormField
from picstore.contrib.pictures import ensure_tenant
from tests.contrib.corpus_files import ACCEPTED, corpus_file
from tests.contrib.django.listings.models import Listing
from tests.contrib.django.test_django import DATABASES
from tests.helpers import make_jpeg

pytestmark = pytest.mark.django_db


class DirectListingForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Listing
        fields = ("name", "owner", "photo")
        widgets = {"photo": DirectPictureInput}


class LogoForm(forms.Form):
    logo = PictureFormField(direct=True, tenant="logos")


def _body(resp: Any) -> bytes:
    return b"".join(resp.streaming_content) if resp.streaming else resp.content


def _widget(html: str) -> dict[str, str]:
    found = re.search(r'data-endpoint="([^"]*)" data-token="([^"]*)"', html)
    assert found, html
    return {"endpoint": found.group(1), "token": found.group(2)}


def _api(client: Client, url: str, token: str, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    resp = client.post(
        url, json.dumps(payload), "application/json", headers={"Authorization": f"Bearer {token}"}
    )
    return resp.status_code, json.loads(_body(resp))


def _direct_upload(
    client: Client, widget: dict[str, str], data: bytes, *, complete: bool = True
) -> tuple[str, dict[str, Any]]:
    """What picstore-direct.js does with a picked file: create, POST the file to the url, complete."""
    status, ticket = _api(
        client,
        widget["endpoint"] + "/v1/uploads",
        widget["token"],
        {"filename": "shop.jpg", "content_type": "image/jpeg", "bytes": len(data)},
    )
    assert status == 201, ticket
    assert ticket["url"] == f"{widget['endpoint']}/v1/uploads/{ticket['upload_id']}/file"  # picstore's own
    sent = client.post(ticket["url"], {**ticket["fields"], "file": SimpleUploadedFile("shop.jpg", data)})
    assert sent.status_code == 204, _body(sent)
    if not complete:
        return ticket["upload_id"], {}
    status, image = _api(
        client, f"{widget['endpoint']}/v1/uploads/{ticket['upload_id']}/complete", widget["token"], {}
    )
    assert status == 201, image
    return ticket["upload_id"], image


def test_widget_renders_the_file_input_the_token_and_the_script(picstore: ImageStore) -> None:
    form = DirectListingForm(instance=Listing(owner="bakery"))
    html = str(form["photo"])
    widget = _widget(html)
    assert widget["endpoint"] == "/pictures"  # the URLconf's mount, where the API answers
    assert picstore.access.uploader(widget["token"]).slug == "bakery"  # type: ignore[union-attr]  # the callable's tenant
    assert 'type="file" name="photo"' in html
    assert '<input type="hidden" name="photo-upload" value="" data-picstore-upload-id>' in html
    assert str(form.media) == '<script src="/pictures/static/picstore-direct.js"></script>'
    script = Client().get("/pictures/static/picstore-direct.js")
    assert script.status_code == 200 and b"data-picstore-direct" in _body(script)
    # A plain form with a slug: that tenant's token (created on first use, as the model field does).
    logo = _widget(str(LogoForm()["logo"]))
    assert picstore.access.uploader(logo["token"]).slug == "logos"  # type: ignore[union-attr]


@pytest.mark.parametrize("db", DATABASES)
def test_the_form_takes_a_direct_uploads_id_and_saves_its_picture(
    db: str, picstore: ImageStore, settings: Any, request: pytest.FixtureRequest
) -> None:
    if db == "pg":  # PostgreSQL for Django's rows and for picstore's catalog alike
        settings.PICSTORE = {**settings.PICSTORE, "DATABASE": request.getfixturevalue("pg_url")}
        picstore = get_store()
        assert picstore.engine.dialect.name == "postgresql"
    client = Client()
    widget = _widget(str(DirectListingForm(instance=Listing(owner="bakery"))["photo"]))
    upload_id, image = _direct_upload(client, widget, corpus_file(ACCEPTED).read_bytes())
    # The tenant comes from the instance the view hands the form (as when it rendered), never from the
    # posted data: a user cannot choose whose upload to take.
    form = DirectListingForm(
        {"name": "Bakery", "owner": "bakery", "photo-upload": upload_id}, {}, instance=Listing(owner="bakery")
    )
    assert form.is_valid(), form.errors
    listing = form.save(commit=False)
    listing.save(using=db)
    assert isinstance(listing.photo, StoredPicture) and listing.photo.id == image["id"]
    assert Listing.objects.using(db).get(pk=listing.pk).photo.id == image["id"]  # type: ignore[union-attr]
    assert [i.id for i in picstore.list("bakery").items] == [image["id"]]  # no second copy
    # Another field's error: the form comes back with the upload kept and shown.
    again = DirectListingForm(
        {"name": "", "owner": "bakery", "photo-upload": upload_id}, {}, instance=Listing(owner="bakery")
    )
    assert not again.is_valid() and list(again.errors) == ["name"]
    html = str(again["photo"])
    assert f'name="photo-upload" value="{upload_id}"' in html
    assert f'src="{listing.photo.url("thumb", "jpeg")}"' in html
    # Editing without a new picture keeps the one there.
    edit = DirectListingForm({"name": "B2", "owner": "bakery"}, {}, instance=listing)
    assert edit.is_valid()
    edit.save(commit=False).save(using=db)
    assert Listing.objects.using(db).get(pk=listing.pk).photo.id == image["id"]  # type: ignore[union-attr]


def test_forged_or_unfinished_upload_ids_are_form_errors(picstore: ImageStore) -> None:
    client = Client()
    data = make_jpeg(300, 200)
    rival_widget = _widget(str(DirectListingForm(instance=Listing(owner="rival"))["photo"]))
    rivals_upload, _ = _direct_upload(client, rival_widget, data)
    widget = _widget(str(DirectListingForm(instance=Listing(owner="bakery"))["photo"]))
    unfinished, _ = _direct_upload(client, widget, data, complete=False)

    def error(upload_id: str) -> tuple[str, str]:
        form = DirectListingForm(
            {"name": "x", "owner": "bakery", "photo-upload": upload_id}, {}, instance=Listing(owner="bakery")
        )
        assert not form.is_valid()
        (found,) = form.errors.as_data()["photo"]
        return str(found.code), str(found.message)

    never = "abcdefghijklmnopqrstuvwx"
    for forged in (never, rivals_upload, "../etc/passwd", "A" * 500):
        code, message = error(forged)
        assert code == "not_found" and "upload the picture again" in message, (forged, message)
    assert error(rivals_upload)[1] == error(never)[1].replace(never, rivals_upload)  # says nothing more
    code, message = error(unfinished)
    assert code == "conflict" and message == (
        f"upload {unfinished} is not complete (its picture was not checked): upload the picture again"
    )
    assert picstore.list("bakery").items == ()  # nothing was published for bakery
    # The upload id and a ticked "clear" box together: Django's own contradiction error.
    form = DirectListingForm(
        {"name": "x", "owner": "rival", "photo-upload": rivals_upload, "photo-clear": "on"},
        {},
        instance=Listing(owner="rival"),
    )
    assert not form.is_valid() and form.errors.as_data()["photo"][0].code == "contradiction"


def test_a_required_field_that_comes_back_with_its_upload_does_not_ask_for_a_file(
    picstore: ImageStore,
) -> None:
    class Named(forms.Form):
        name = forms.CharField()
        logo = PictureFormField(direct=True, tenant="logos")

    fresh = str(Named()["logo"])
    assert 'data-required="1"' in fresh and re.search(r'<input type="file"[^>]* required', fresh)
    upload_id, _ = _direct_upload(Client(), _widget(fresh), make_jpeg(300, 200))
    back = Named({"name": "", "logo-upload": upload_id}, {})
    assert not back.is_valid() and list(back.errors) == ["name"]
    html = str(back["logo"])
    assert 'data-required="1"' in html and f'value="{upload_id}"' in html
    assert re.search(r'<input type="file"[^>]*>', html) and not re.search(
        r'<input type="file"[^>]* required', html
    )
    done = Named({"name": "Logo", "logo-upload": upload_id}, {})
    assert done.is_valid(), done.errors
    assert picstore.get(done.cleaned_data["logo"].id, "logos").width == 300


def test_without_the_script_the_same_field_takes_the_file(picstore: ImageStore) -> None:
    form = DirectListingForm(
        {"name": "Bakery", "owner": "bakery"}, {"photo": SimpleUploadedFile("p.jpg", make_jpeg(400, 300))}
    )
    assert form.is_valid(), form.errors
    listing = form.save()
    assert picstore.get(listing.photo.id, "bakery").width == 400  # type: ignore[union-attr]
    refused = DirectListingForm(
        {"name": "Bakery", "owner": "bakery"}, {"photo": SimpleUploadedFile("n.jpg", b"not a picture")}
    )
    assert not refused.is_valid() and refused.errors.as_data()["photo"][0].code == "not_an_image"


def test_a_callable_tenant_needs_the_model_instance(picstore: ImageStore) -> None:
    from django.core.exceptions import ImproperlyConfigured

    class Loose(forms.Form):
        photo = PictureFormField(direct=True, tenant=lambda listing: listing.owner)

    with pytest.raises(ImproperlyConfigured, match="callable of the model instance"):
        str(Loose()["photo"])
    ensure_tenant(picstore, "site")
    with pytest.raises(ImproperlyConfigured, match="DirectPictureInput needs its tenant"):
        DirectPictureInput().render("photo", None)


def test_the_admin_takes_the_widget_through_formfield_overrides(picstore: ImageStore, rf: Any) -> None:
    from django.contrib import admin
    from django.contrib.auth.models import User

    from picstore.contrib.django.fields import PictureField

    class DirectAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
        formfield_overrides = {PictureField: {"widget": DirectPictureInput}}

    request = rf.get("/admin/listings/listing/add/")
    request.user = User.objects.create_superuser("admin", "a@example.test", "pw-for-tests")
    form = DirectAdmin(Listing, admin.site).get_form(request)(instance=Listing(owner="bakery"))
    assert isinstance(form.fields["photo"].widget, DirectPictureInput)
    assert isinstance(form.fields["logo"].widget, DirectPictureInput)
    assert "/pictures/static/picstore-direct.js" in str(form.media)
    token = _widget(str(form["logo"]))["token"]
    assert picstore.access.uploader(token).slug == "logos"  # type: ignore[union-attr]
