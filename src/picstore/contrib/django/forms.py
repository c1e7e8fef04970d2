"""The form field and widget for pictures: a file upload checked by picstore's ingest.

A refused file is an ordinary form error carrying picstore's message and ``code``, before anything is
stored. An accepted file is stored when the model is saved (``PictureField.pre_save``): the check here
decodes it strictly (``ingest.probe``), so a file that passes here passes there.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils.html import format_html

from picstore.contrib.django.conf import get_store
from picstore.errors import ImageRejected, NotFound, TooLarge
from picstore.ingest import probe


class PictureInput(forms.ClearableFileInput):
    """A file input that shows the current picture's thumbnail (in the admin too)."""

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None) -> Any:
        html = super().render(name, value, attrs, renderer)
        shown = thumbnail(value)
        return format_html("{}{}", shown, html) if shown else html


def thumbnail(value: Any, variant: str = "thumb") -> str:
    """An ``<img>`` of a stored picture's ``variant`` ('' for no picture, or one that is gone)."""
    url = getattr(value, "url", None)
    if not callable(url):
        return ""
    try:
        src = url(variant, "jpeg")
    except NotFound:
        return ""
    return format_html('<img src="{}" alt="" width="100" style="height:auto" class="picstore-thumb">', src)


class PictureFormField(forms.FileField):
    """A picture upload, refused with picstore's own message when ingest would refuse it."""

    widget = PictureInput

    def to_python(self, data: Any) -> Any:
        checked = super().to_python(data)
        if isinstance(checked, UploadedFile):
            check_upload(checked)
        return checked


def check_upload(upload: UploadedFile[Any]) -> None:
    """Raise a ValidationError (picstore's message and code) unless ingest accepts ``upload``."""
    store = get_store()
    limit = store.settings.max_bytes
    try:
        if upload.size is not None and upload.size > limit:
            raise TooLarge(f"the upload is larger than the limit of {limit:,} bytes")
        upload.seek(0)
        probe(upload.read(), store.ingest_options)
    except ImageRejected as exc:
        raise ValidationError(exc.message, code=exc.code) from exc
    finally:
        upload.seek(0)
