"""The form field for pictures: a file upload checked by picstore's ingest, or a direct upload's id.

A refused file is an ordinary form error carrying picstore's message and ``code``, before anything is
stored. An accepted file is stored when the model is saved (``PictureField.pre_save``): the check here
decodes it strictly (``ingest.probe``), so a file that passes here passes there.

With ``direct=True`` (or a :class:`~picstore.contrib.django.direct.DirectPictureInput` widget) the browser
uploads the file straight to the bucket and the form posts the upload's id: the field accepts it only if
it is a completed upload of the field's tenant, and its value is then the stored picture.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import models

from picstore.contrib.django.conf import default_tenant, get_store
from picstore.contrib.django.direct import DirectPictureInput, DirectUpload, checked_upload
from picstore.contrib.django.widgets import PictureInput, thumbnail
from picstore.errors import ImageRejected, TooLarge
from picstore.ingest import probe

__all__ = ["DirectPictureInput", "PictureFormField", "PictureInput", "check_upload", "thumbnail"]

#: A tenant slug, or a callable of the model instance the form edits (what ``PictureField`` hands over).
FormTenant = str | Callable[[models.Model], str] | None


class PictureFormField(forms.FileField):
    """A picture upload, refused with picstore's own message when ingest would refuse it.

    ``direct``: upload from the browser straight to the bucket (:class:`DirectPictureInput`).
    ``tenant``: whose pictures direct uploads become: a slug, or a callable of the ModelForm's instance
    (default ``settings.PICSTORE["TENANT"]``); a ``PictureField`` passes its own.
    """

    widget = PictureInput

    def __init__(self, *, direct: bool = False, tenant: FormTenant = None, **kwargs: Any) -> None:
        if direct:
            kwargs.setdefault("widget", DirectPictureInput)
        self.tenant = tenant
        self._instance: models.Model | None = None
        super().__init__(**kwargs)

    def get_bound_field(self, form: forms.BaseForm, field_name: str) -> Any:
        # Each form holds its own copy of its fields: the instance a ModelForm edits is this form's.
        self._instance = getattr(form, "instance", None)
        if isinstance(self.widget, DirectPictureInput):
            self.widget.tenant = self.tenant_slug
        return super().get_bound_field(form, field_name)

    def tenant_slug(self) -> str:
        """The tenant direct uploads of this field belong to."""
        if not callable(self.tenant):
            return self.tenant or default_tenant()
        if self._instance is None:
            raise ImproperlyConfigured(
                "this PictureFormField's tenant is a callable of the model instance: use it in a ModelForm, "
                "or give the field a tenant slug"
            )
        return str(self.tenant(self._instance))

    def clean(self, data: Any, initial: Any = None) -> Any:
        if isinstance(data, DirectUpload):
            if self.disabled:
                return initial
            return checked_upload(data, self.tenant_slug())
        return super().clean(data, initial)

    def bound_data(self, data: Any, initial: Any) -> Any:
        # A file cannot be sent back to the browser, but an upload id can: a form shown again keeps it.
        return data if isinstance(data, DirectUpload) else super().bound_data(data, initial)

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
