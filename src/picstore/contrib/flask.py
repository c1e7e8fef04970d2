"""Flask: ``Picstore(app)`` gives the app one ImageStore, serves its pictures, and helps templates.

``init_app`` reads ``app.config`` (``PICSTORE_STORAGE``, ``PICSTORE_DATABASE`` ... the names of the
environment variables), mounts picstore's HTTP service (blob serving and the API, through a2wsgi) at
``PICSTORE_MOUNT`` (default ``/pictures``; ``None`` to serve elsewhere, e.g. a second process or a
bucket), and adds the Jinja globals ``picture``, ``srcset`` and ``pictures``. Invariant: one ImageStore
per app, in ``app.extensions["picstore"]``; the URLs it hands out are under the mount.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, BinaryIO, cast

from flask import Flask, current_app, has_app_context
from markupsafe import Markup
from werkzeug.datastructures import FileStorage
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from picstore.contrib.pictures import (
    Picture,
    Refusal,
    picture,
    pictures,
    save_upload,
    settings_from,
    srcset,
)
from picstore.errors import NotFound
from picstore.models import Image
from picstore.store import ImageStore
from picstore.web.mount import mount_prefix

__all__ = ["Picstore"]

#: ``app.config`` keys that configure this extension rather than the ImageStore.
OWN_KEYS = ("MOUNT", "TENANT")
DEFAULT_MOUNT = "/pictures"


class Picstore:
    """The Flask extension. ``Picstore(app)``, or ``ext = Picstore()`` then ``ext.init_app(app)``."""

    def __init__(self, app: Flask | None = None, *, store: ImageStore | None = None) -> None:
        self._given = store
        self._store: ImageStore | None = None
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Open the app's ImageStore from ``app.config``, mount serving, register the template helpers."""
        store = self._given or ImageStore.from_settings(settings_from(app.config, "PICSTORE_", OWN_KEYS))
        mount = app.config.get("PICSTORE_MOUNT", DEFAULT_MOUNT)
        if mount is not None:
            prefix = mount_prefix(mount)
            # Werkzeug's dispatcher moves the prefix into SCRIPT_NAME; a2wsgi hands it on as root_path.
            app.wsgi_app = DispatcherMiddleware(  # type: ignore[method-assign]
                app.wsgi_app, {prefix: store.wsgi_app(prefix)}
            )
        app.extensions["picstore"] = store
        self._store = store
        app.jinja_env.globals.update(
            picture=self._picture, srcset=srcset, pictures=lambda images: self.pictures(images)
        )

    @property
    def store(self) -> ImageStore:
        """The current app's ImageStore (the one app's, outside an app context)."""
        if has_app_context() and "picstore" in current_app.extensions:
            found: ImageStore = current_app.extensions["picstore"]
            return found
        if self._store is None:
            raise RuntimeError("Picstore is not initialised: call init_app(app) first")
        return self._store

    def pictures(self, images: Iterable[Image]) -> list[Picture]:
        """A page of images with their URLs, from one catalog query (see :func:`pictures`)."""
        return pictures(self.store, images)

    def listing(self, tenant: str, limit: int = 50) -> list[Picture]:
        """The newest ``limit`` pictures of ``tenant`` with their URLs (none if the tenant has none yet)."""
        try:
            page = self.store.list(tenant, limit)
        except NotFound:  # no such tenant: nothing uploaded for it yet
            return []
        return self.pictures(page.items)

    def save(
        self, file: FileStorage | None, tenant: str | None = None, *, alt: str | None = None
    ) -> Image | Refusal:
        """Store ``request.files[...]`` for ``tenant`` (default ``PICSTORE_TENANT``, else ``"default"``).

        Returns the stored Image, or a :class:`Refusal` (falsy) with picstore's ``code`` and ``message``.
        """
        if not file or not file.filename:
            return Refusal("no_file", "choose a picture to upload")
        owner = tenant or current_app.config.get("PICSTORE_TENANT", "default")
        return save_upload(self.store, cast(BinaryIO, file.stream), owner, filename=file.filename, alt=alt)

    def _picture(self, pic: Picture | Image, variant: str = "card", **kwargs: Any) -> Markup:
        # Templates may pass an Image as well as a Picture; an Image costs one query for its URLs.
        return picture(pic if isinstance(pic, Picture) else self.pictures([pic])[0], variant, **kwargs)
