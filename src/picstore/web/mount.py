"""picstore inside another application: the HTTP service as an ASGI app, or as WSGI through a2wsgi.

The app is :func:`picstore.web.app.create_app` itself (blob serving, the JSON API, health, metrics), so a
mounted picstore behaves exactly like ``picstore serve``. Invariant: once mounted at a prefix, every URL
the store hands out for blobs it serves itself is under that prefix (``/pictures/b/...``), unless
``PICSTORE_PUBLIC_URL`` says otherwise (a CDN, or an absolute URL that already includes the prefix).
"""

from __future__ import annotations

from typing import cast

from a2wsgi import ASGIMiddleware
from fastapi import FastAPI

from picstore.delivery.urls import UrlBuilder
from picstore.errors import ConfigError
from picstore.store import ImageStore, WSGIApp
from picstore.web.app import create_app

__all__ = ["asgi_app", "mount_prefix", "serve_under", "wsgi_app"]


def mount_prefix(prefix: str) -> str:
    """``prefix`` as a path: one leading slash, no trailing slash (``"pictures/"`` -> ``"/pictures"``).

    The root (``""`` or ``"/"``) is ``""``. Refuses anything but a plain path (no scheme, host or query).
    """
    path = prefix.strip()
    if any(c in path for c in "?#:") or path.startswith("//"):
        raise ConfigError(f"mount prefix {prefix!r} must be a plain path such as '/pictures'")
    path = path.strip("/")
    return f"/{path}" if path else ""


def serve_under(store: ImageStore, prefix: str) -> None:
    """Make the URLs ``store`` hands out for its own blobs start with ``prefix`` (a path, so they work on
    whatever host the application answers). ``PICSTORE_PUBLIC_URL``, when set, wins: it is the operator's
    statement of where picstore is reached."""
    if store.settings.public_url is None:
        store.url_builder = UrlBuilder(mount_prefix(prefix))


def asgi_app(store: ImageStore, prefix: str | None = None) -> FastAPI:
    """The HTTP service over ``store`` to mount in FastAPI/Starlette: ``app.mount(prefix, it)``.

    With ``prefix``, the store's URLs follow the mount (see :func:`serve_under`).
    """
    if prefix is not None:
        serve_under(store, prefix)
    return create_app(store)


def wsgi_app(store: ImageStore, prefix: str | None = None) -> WSGIApp:
    """The same app as WSGI (a2wsgi runs it on an event loop in a background thread), for Flask, Django
    or any WSGI server. The prefix it is mounted at arrives as ``SCRIPT_NAME``."""
    # a2wsgi types scopes and environs as TypedDicts; Starlette and WSGI servers use plain mappings.
    return cast(WSGIApp, ASGIMiddleware(asgi_app(store, prefix)))  # type: ignore[arg-type]
