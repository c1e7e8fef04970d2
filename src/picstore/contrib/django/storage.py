"""``PicstoreStorage``: a Django ``Storage`` for code that expects one (``default_storage``, ``FileField``).

Every save goes through ingest: a file that is not an acceptable image raises picstore's
``ImageRejected`` (a ``ValueError`` is not enough to say why) and nothing is stored. The name a save
returns is the image id with the stored format's extension (``"Zx3...Q.jpg"``); the name asked for is
kept only as the image's filename metadata, as picstore keeps users' filenames out of keys. Names that
are not picstore ids simply do not exist here.
"""

from __future__ import annotations

from datetime import datetime
from typing import IO, Any, BinaryIO, cast

from django.core.files import File
from django.core.files.storage import Storage
from django.utils.deconstruct import deconstructible

from picstore.contrib.django.conf import default_tenant, get_store
from picstore.contrib.pictures import ensure_tenant
from picstore.errors import NotFound
from picstore.models import EXTENSIONS, Image


class _StoredFile(File):  # type: ignore[type-arg]
    """A stored picture's bytes, opened again from picstore after a close: Django's ``ImageField`` reads
    the dimensions and closes the file, ``FieldFile.open`` reopens it (a plain ``File`` needs a path)."""

    def __init__(self, image_id: str, name: str) -> None:
        super().__init__(get_store().open(image_id), name=name)
        self.image_id = image_id

    def open(self, mode: str | None = None, *args: Any, **kwargs: Any) -> _StoredFile:
        if mode is not None and mode.strip("rbt"):
            raise ValueError("pictures in picstore are immutable: save a new one instead")
        if self.closed:
            self.file = get_store().open(self.image_id)
        else:
            self.seek(0)
        return self


@deconstructible
class PicstoreStorage(Storage):
    """Images in picstore. ``tenant`` defaults to ``settings.PICSTORE["TENANT"]``."""

    def __init__(self, tenant: str | None = None) -> None:
        self.tenant = tenant

    def _image(self, name: str) -> Image:
        image_id = name.rsplit("/", 1)[-1].split(".", 1)[0]
        if not image_id:
            raise NotFound(f"no image {name!r}")
        return get_store().get(image_id, self.tenant or default_tenant())

    def _save(self, name: str, content: IO[Any]) -> str:
        store = get_store()
        tenant = self.tenant or default_tenant()
        ensure_tenant(store, tenant)
        content.seek(0)
        image = store.put(cast(BinaryIO, content), tenant, name.rsplit("/", 1)[-1])
        return f"{image.id}.{EXTENSIONS.get(image.format, image.format)}"

    def _open(self, name: str, mode: str = "rb") -> File[Any]:
        if "w" in mode or "a" in mode or "+" in mode:
            raise ValueError("pictures in picstore are immutable: save a new one instead")
        return _StoredFile(self._image(name).id, name)

    def get_available_name(self, name: str, max_length: int | None = None) -> str:
        # Every save makes a new id, so any name is available; the id decides the stored name.
        return name

    def exists(self, name: str) -> bool:
        try:
            self._image(name)
        except NotFound:
            return False
        return True

    def delete(self, name: str) -> None:
        try:
            image = self._image(name)
        except NotFound:
            return  # Django's contract: deleting a missing file is not an error
        get_store().delete(image.id)

    def size(self, name: str) -> int:
        return self._image(name).bytes

    def url(self, name: str | None) -> str:
        if not name:
            raise ValueError("this file has no name, so it has no URL")
        return get_store().url(self._image(name).id)

    def get_created_time(self, name: str) -> datetime:
        return self._image(name).created_at

    get_modified_time = get_created_time

    def listdir(self, path: str) -> tuple[list[str], list[str]]:
        store = get_store()
        found, cursor = [], None
        while True:
            page = store.list(self.tenant or default_tenant(), 1000, cursor)
            found += [f"{i.id}.{EXTENSIONS.get(i.format, i.format)}" for i in page.items]
            if page.next_cursor is None:
                return [], found
            cursor = page.next_cursor
