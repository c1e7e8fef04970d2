"""``PictureField``: a model field that holds a picstore image id.

The attribute's value is a :class:`StoredPicture` (or None): ``.url(variant, format)``, ``.width``,
``.height``, ``.alt``, ``.srcset(format)``, ``.picture(variant, sizes=...)``. It loads the image and its
URLs on first use (one catalog read); :func:`prefetch_pictures` loads a whole page of rows in one read.

Assign an uploaded file (what the form field hands over) and the image is stored through ingest when the
row is saved, for the tenant the field names (a slug, or a callable of the instance). Deleting the row
deletes the image (its blobs stop being served at once; ``picstore gc`` removes them later): a picture
belongs to its row, so two rows sharing an image lose it together. Replacing a picture keeps the old one.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, BinaryIO, cast

from django.core.files import File
from django.db import models
from django.db.models.signals import post_delete
from markupsafe import Markup

from picstore.contrib.django.conf import default_tenant, get_store
from picstore.contrib.pictures import Picture, ensure_tenant, pictures
from picstore.errors import NotFound
from picstore.models import Image

if TYPE_CHECKING:
    _CharField = models.CharField[Any, Any]
else:
    _CharField = models.CharField

TenantSpec = str | Callable[[Any], str] | None


class StoredPicture:
    """The value of a ``PictureField``: an image id, with the image and its URLs loaded on first use."""

    def __init__(self, image_id: str, loaded: Picture | None = None) -> None:
        self.id = image_id
        self._loaded = loaded

    def load(self) -> Picture:
        """The image and its URLs (read from the catalog once)."""
        if self._loaded is None:
            store = get_store()
            self._loaded = pictures(store, [store.get(self.id)])[0]
        return self._loaded

    @property
    def image(self) -> Image:
        return self.load().image

    @property
    def width(self) -> int:
        return self.load().width

    @property
    def height(self) -> int:
        return self.load().height

    @property
    def alt(self) -> str:
        return self.load().alt

    def url(self, variant: str | None = None, format: str | None = None) -> str:
        """The URL of the original or of a variant (see :meth:`Picture.url`)."""
        return self.load().url(variant, format)

    def srcset(self, format: str = "jpeg", like: str | None = None) -> str:
        return self.load().srcset(format, like)

    def picture(self, variant: str = "card", **kwargs: Any) -> Markup:
        """A ``<picture>`` element (see :func:`picstore.delivery.html.picture`)."""
        return self.load().picture(variant, **kwargs)

    def __html__(self) -> str:
        return str(self.picture())

    def __str__(self) -> str:
        return self.id

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StoredPicture) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    def __repr__(self) -> str:
        return f"<StoredPicture {self.id}>"


class _Descriptor:
    """Turns the stored id into a StoredPicture on read; accepts ids, Images, Pictures and files."""

    def __init__(self, field: PictureField) -> None:
        self.field = field

    def __get__(self, instance: models.Model | None, owner: type) -> Any:
        if instance is None:
            return self
        value = instance.__dict__.get(self.field.attname)
        if isinstance(value, str) and value:
            value = instance.__dict__[self.field.attname] = StoredPicture(value)
        return value or None

    def __set__(self, instance: models.Model, value: Any) -> None:
        if isinstance(value, Image | Picture):
            value = StoredPicture(value.id, value if isinstance(value, Picture) else None)
        instance.__dict__[self.field.attname] = value


class PictureField(_CharField):
    """A model field holding a picstore image id. ``tenant``: a slug, or a callable of the instance
    returning one (default ``settings.PICSTORE["TENANT"]``)."""

    descriptor_class = _Descriptor

    def __init__(self, *args: Any, tenant: TenantSpec = None, **kwargs: Any) -> None:
        self.tenant = tenant
        kwargs.setdefault("max_length", 40)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("null", True)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        if self.tenant is not None:
            kwargs["tenant"] = self.tenant
        return name, path, args, kwargs

    def contribute_to_class(self, cls: type[models.Model], name: str, private_only: bool = False) -> None:
        super().contribute_to_class(cls, name, private_only=private_only)
        post_delete.connect(self._delete_picture, sender=cls, weak=False)

    def tenant_for(self, instance: models.Model) -> str:
        """The tenant slug pictures of ``instance`` belong to."""
        if callable(self.tenant):
            return str(self.tenant(instance))
        return self.tenant or default_tenant()

    def to_python(self, value: Any) -> Any:
        # Model.full_clean() passes values through here: a pending upload must stay a file, not its name.
        if isinstance(value, File | StoredPicture):
            return value
        return super().to_python(value)

    def run_validators(self, value: Any) -> None:
        # The length limits are for the id; an upload was checked by the form field, a picture is stored.
        if not isinstance(value, File | StoredPicture):
            super().run_validators(value)

    def get_prep_value(self, value: Any) -> Any:
        if isinstance(value, StoredPicture):
            return value.id
        return super().get_prep_value(value or None)

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        value = model_instance.__dict__.get(self.attname)
        if isinstance(value, File):
            # An upload the form field has checked: stored now, for the instance's tenant.
            store = get_store()
            tenant = self.tenant_for(model_instance)
            ensure_tenant(store, tenant)
            value.seek(0)
            image = store.put(cast(BinaryIO, value), tenant, value.name)
            model_instance.__dict__[self.attname] = value = StoredPicture(image.id)
        return value.id if isinstance(value, StoredPicture) else value

    def save_form_data(self, instance: models.Model, data: Any) -> None:
        # False: the "clear" box was ticked; None: no new file, keep what is there.
        if data is False:
            instance.__dict__[self.attname] = None
        elif data is not None:
            instance.__dict__[self.attname] = data

    def formfield(self, **kwargs: Any) -> Any:
        from django.forms import FileInput

        from picstore.contrib.django.forms import PictureFormField, PictureInput

        widget = kwargs.get("widget")
        kind = widget if isinstance(widget, type) else type(widget)
        if widget is None or not issubclass(kind, FileInput):
            # The admin offers CharField's text input (this is a CharField in the database): a file it is.
            kwargs["widget"] = PictureInput
        kwargs.setdefault("form_class", PictureFormField)
        if issubclass(kwargs["form_class"], PictureFormField):
            # Direct uploads need the tenant when the form is shown: the form field asks this field.
            kwargs.setdefault("tenant", self.tenant_for)
        # Field's, not CharField's: a file field takes no max_length or empty_value.
        return models.Field.formfield(self, **kwargs)

    def value_to_string(self, obj: models.Model) -> str:
        value = self.value_from_object(obj)
        return "" if value is None else str(value)

    def _delete_picture(self, sender: type, instance: models.Model, **_: Any) -> None:
        value = getattr(instance, self.attname)
        if isinstance(value, StoredPicture):
            with contextlib.suppress(NotFound):  # already gone: deleting twice is harmless
                get_store().delete(value.id)


def prefetch_pictures(rows: Iterable[models.Model], *fields: str) -> None:
    """Load the pictures of many rows at once: one catalog statement for the images and all their URLs,
    however many rows. Afterwards ``row.photo.url(...)`` answers from memory."""
    rows = list(rows)
    wanted = [
        (row, name, value)
        for row in rows
        for name in fields
        if isinstance(value := getattr(row, name), StoredPicture) and value._loaded is None
    ]
    if not wanted:
        return
    store = get_store()
    loaded = {i: Picture(u.image, u) for i, u in store.image_urls(v.id for _, _, v in wanted).items()}
    for _row, _name, value in wanted:
        if value.id in loaded:
            value._loaded = loaded[value.id]
