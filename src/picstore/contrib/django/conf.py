"""The one ImageStore of a Django process, opened on first use from ``settings.PICSTORE``.

``settings.PICSTORE`` holds the picstore settings by their environment names without the ``PICSTORE_``
prefix (``{"STORAGE": "s3://bucket/pictures", "DATABASE": "postgresql://..."}``) plus ``TENANT``, the
tenant that :class:`~picstore.contrib.django.storage.PicstoreStorage` and fields without one use.
Invariant: when ``picstore.contrib.django.urls`` is included, the URLs the store hands out are under
that path (found with ``reverse``), unless ``PUBLIC_URL`` is set.
"""

from __future__ import annotations

import threading
from typing import Any

from django.conf import settings
from django.urls import NoReverseMatch, reverse

from picstore.contrib.pictures import settings_from
from picstore.store import ImageStore, WSGIApp
from picstore.web.mount import serve_under

#: Keys of ``settings.PICSTORE`` that configure the Django glue rather than the ImageStore.
OWN_KEYS = ("TENANT",)
DEFAULT_TENANT = "default"

_lock = threading.Lock()
_state: dict[str, Any] = {}


def options() -> dict[str, Any]:
    """``settings.PICSTORE`` (empty when unset: everything comes from the environment)."""
    return dict(getattr(settings, "PICSTORE", {}) or {})


def default_tenant() -> str:
    """The tenant used when a field or the Storage names none."""
    return str(options().get("TENANT", DEFAULT_TENANT))


def get_store() -> ImageStore:
    """The process's ImageStore (opened once, thread-safely)."""
    with _lock:
        store: ImageStore | None = _state.get("store")
        if store is None:
            store = ImageStore.from_settings(settings_from(options(), own=OWN_KEYS))
            prefix = _mount_prefix()
            if prefix is not None:
                serve_under(store, prefix)
            _state["store"] = store
        return store


def _mount_prefix() -> str | None:
    """Where ``picstore.contrib.django.urls`` is included; None when it is not (URLs then follow
    ``PUBLIC_URL``: a ``picstore serve`` elsewhere), or when there is no URLconf (a worker, a script)."""
    if not getattr(settings, "ROOT_URLCONF", None):
        return None
    try:
        return reverse("picstore:serve", kwargs={"path": ""})
    except NoReverseMatch:
        return None


def get_wsgi_app() -> WSGIApp:
    """picstore's HTTP service over :func:`get_store`, as WSGI (built once)."""
    store = get_store()
    with _lock:
        app: WSGIApp | None = _state.get("wsgi")
        if app is None:
            app = _state["wsgi"] = store.wsgi_app()
        return app


def reset_store() -> None:
    """Close the store; the next :func:`get_store` opens a new one from the current settings."""
    with _lock:
        store: ImageStore | None = _state.pop("store", None)
        _state.pop("wsgi", None)
    if store is not None:
        store.close()
