"""The web UI's own paths when picstore is mounted under a prefix (``app.mount("/pictures", ...)``, or
``SCRIPT_NAME`` through WSGI), which reaches the app as the ASGI scope's ``root_path``.

Invariants: every path the UI sends to a browser (links, form actions, redirects, scripts, cookies) is
``root(request) + <app path>``, so unmounted (``root_path`` empty) it is the app path itself; a ``back``
value from a form is only ever followed inside its own section of this app, never to another site or
outside the mount.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.types import Scope

__all__ = ["app_path", "inside", "redirect", "root", "route_path"]


def root(request: Request) -> str:
    """The prefix picstore is mounted at (``"/pictures"``), ``""`` at the root of its origin."""
    prefix: str = request.scope.get("root_path", "")
    return prefix.rstrip("/")


def route_path(scope: Scope) -> str:
    """The request's path within the app: without the mount prefix, which Starlette's mounts and a2wsgi
    leave at the start of ``scope["path"]``."""
    path: str = scope["path"]
    prefix: str = scope.get("root_path", "")
    if prefix and path.startswith(prefix) and path[len(prefix) : len(prefix) + 1] in ("", "/"):
        return path[len(prefix) :] or "/"
    return path


def app_path(request: Request, path: str) -> str:
    """``path`` (one of the app's own, starting with ``/``) as the browser must ask for it."""
    return root(request) + path


def redirect(request: Request, path: str) -> RedirectResponse:
    """A 303 to the app's own ``path``, under the mount prefix."""
    return RedirectResponse(app_path(request, path), status_code=303)


def inside(request: Request, value: object, section: str) -> str:
    """``value`` (a form's ``back``, as the page wrote it: under the mount prefix) as an app path within
    ``section`` (``"/dashboard"``); ``section`` itself when it points anywhere else."""
    text = value if isinstance(value, str) else ""
    prefix = root(request)
    if not text.startswith(prefix + section):
        return section
    path = text[len(prefix) :]
    rest = path[len(section) :]
    # No other host (`//`, `\`), no climbing out of the section (`..`, also percent-encoded).
    unsafe = "//" in path or "\\" in path or ".." in path or "%2e" in path.lower()
    if unsafe or (rest and rest[0] not in "/?#"):
        return section
    return path
