"""Direct uploads from a Django form: the browser sends the file to the bucket, the form only its upload id.

:class:`DirectPictureInput` renders the usual file input plus a hidden input and the attributes that
``picstore-direct.js`` (served by the picstore mount under ``/static/``, listed in the widget's ``media``)
needs: picstore's address and an upload token for the field's tenant. The script runs picstore's direct
upload (create, POST the file to the URL it answers: the bucket on S3, picstore's own receive route on a
file store, then complete) as soon as a file is picked, and puts the upload's id in the hidden input; the
form then posts that id instead of the file.

Invariants:
- the server trusts nothing from the hidden input: :func:`checked_upload` accepts an id only if it is a
  direct upload picstore made for the field's tenant and that has completed (so its picture passed
  ingest); anything else is an ordinary form error with picstore's message and code;
- without the script (not loaded, or an old browser) the input is a plain file input and the form
  uploads the file the usual way: the same field accepts both.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.forms.widgets import FILE_INPUT_CONTRADICTION
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from picstore.access import Ttl
from picstore.contrib.django.conf import get_store
from picstore.contrib.django.fields import StoredPicture
from picstore.contrib.django.widgets import PictureInput, thumbnail
from picstore.contrib.pictures import ensure_tenant
from picstore.direct_uploads import DirectUploads
from picstore.errors import PicstoreError

__all__ = ["SCRIPT", "DirectPictureInput", "DirectUpload", "checked_upload"]

#: The script's path under the picstore mount (``picstore/web/static/``).
SCRIPT = "/static/picstore-direct.js"
#: The suffix of the hidden input's name: ``photo`` posts its upload id as ``photo-upload``.
HIDDEN_SUFFIX = "-upload"


class DirectUpload(str):
    """The upload id a form posted in place of a file (unchecked until :func:`checked_upload`)."""


def checked_upload(upload_id: str, tenant: str) -> StoredPicture:
    """The picture of ``tenant``'s completed direct upload ``upload_id``; a ValidationError with picstore's
    message and code (``not_found``, ``conflict``) for any other id."""
    store = get_store()
    try:
        image = DirectUploads(store).completed(upload_id, tenant)
    except PicstoreError as exc:
        raise ValidationError(exc.message, code=exc.code) from exc
    return StoredPicture(image.id)


class DirectPictureInput(PictureInput):
    """A file input that uploads straight to the bucket (see the module docstring).

    ``ttl``: how long the page may stay open before an upload from it is refused (the upload
    token's life; a reload mints a new one). Its tenant comes from the form field
    (``PictureFormField``), which sets :attr:`tenant` when the form is bound.
    """

    def __init__(self, attrs: dict[str, Any] | None = None, ttl: Ttl = "2h") -> None:
        super().__init__(attrs)
        self.ttl = ttl
        #: Answers the tenant slug of the form being rendered; set by ``PictureFormField``.
        self.tenant: Callable[[], str] | None = None

    @property
    def media(self) -> forms.Media:
        """``picstore-direct.js`` from the picstore this process mounts (or ``PUBLIC_URL``'s)."""
        return forms.Media(js=[get_store().url_builder.base_url + SCRIPT])

    @staticmethod
    def hidden_name(name: str) -> str:
        return name + HIDDEN_SUFFIX

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        upload = super().value_from_datadict(data, files, name)
        upload_id = str(data.get(self.hidden_name(name)) or "").strip()
        if not upload_id or upload:
            return upload  # a file came the usual way (no script): it wins, as it is what was sent
        # An uploaded picture and a ticked "clear" box say opposite things: Django's contradiction error.
        return FILE_INPUT_CONTRADICTION if upload is False else DirectUpload(upload_id)

    def value_omitted_from_data(self, data: Any, files: Any, name: str) -> bool:
        return super().value_omitted_from_data(data, files, name) and self.hidden_name(name) not in data

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None) -> Any:
        if self.tenant is None:
            raise ImproperlyConfigured(
                "DirectPictureInput needs its tenant: use it as the widget of a PictureFormField "
                "(PictureFormField(direct=True), or widgets={...: DirectPictureInput} in a ModelForm's Meta)"
            )
        store = get_store()
        tenant = self.tenant()
        ensure_tenant(store, tenant)
        pending = value if isinstance(value, DirectUpload) else None
        status, preview = "", ""
        if pending is not None:
            # The form came back (another field's error): keep the upload, and show it when it is good.
            try:
                preview = thumbnail(checked_upload(pending, tenant))
                status = "The picture is uploaded; it is saved with the form."
            except ValidationError:
                pending = None
        required = bool((attrs or {}).get("required"))
        if pending is not None:
            # The picture is there already: an empty file input must not stop the form being sent.
            attrs = {**(attrs or {}), "required": False}
        file_input = super().render(name, None if pending is not None else value, attrs, renderer)
        return format_html(
            '<div class="picstore-direct" data-picstore-direct data-endpoint="{}" data-token="{}"{}>'
            '{}{}<input type="hidden" name="{}" value="{}" data-picstore-upload-id>'
            '<output class="picstore-direct-status" aria-live="polite">{}</output></div>',
            store.url_builder.base_url,
            store.upload_token(tenant, self.ttl),
            mark_safe(' data-required="1"') if required else "",  # a constant
            preview,
            file_input,
            self.hidden_name(name),
            pending or "",
            status,
        )
