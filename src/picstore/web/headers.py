"""Two rules every answer of the HTTP service follows, kept in one place (an ASGI middleware) so that no
route can forget them:

- **Nothing that may carry a secret is stored by a cache.** An answer that does not say how it may be
  cached gets ``Cache-Control: no-store``, and an answer that sets a cookie gets it whatever it said.
  Answers meant for caches say so themselves (blobs, transforms, static files, the public listing,
  ``/docs``); everything else is ``no-store``: a new tenant's API key, a direct upload's signed form and
  token, an upload token, image answers with presigned URLs, the web UI's sign-in pages and session
  cookie, problem details.
- **No redirect reflects the client's ``Host``.** A ``Location`` on the request's own origin (scheme, and
  the authority the client sent as ``Host``) is sent as a path: the client resolves it against the URL it
  asked for, so an honest client lands where it would have, and a forged ``Host`` (cache poisoning,
  password-reset style tricks) leads nowhere. Locations picstore builds from its configuration (the
  public URL, a bucket, a CDN) pass unchanged.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

NO_STORE = "no-store"


def _own_origin(scope: Scope) -> tuple[str, str]:
    """The scheme and authority (lowercased) the client addressed: its ``Host``, else the server's."""
    for name, value in scope.get("headers", ()):
        if name == b"host":
            return scope.get("scheme", "http"), value.decode("latin-1").strip().lower()
    host, port = scope.get("server") or ("", None)
    return scope.get("scheme", "http"), f"{host}:{port}".lower() if port else str(host).lower()


def relative_location(location: str, scope: Scope) -> str:
    """``location`` as a path when it names the request's own origin; otherwise unchanged."""
    parts = urlsplit(location)
    if not parts.scheme or not parts.netloc:
        return location
    if (parts.scheme.lower(), parts.netloc.lower()) != _own_origin(scope):
        return location
    return urlunsplit(("", "", parts.path or "/", parts.query, parts.fragment))


class ResponseRules:
    """ASGI middleware applying this module's rules to every HTTP answer that passes through it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_rules(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if "cache-control" not in headers or "set-cookie" in headers:
                    headers["Cache-Control"] = NO_STORE
                if "location" in headers:
                    headers["Location"] = relative_location(headers["location"], scope)
            await send(message)

        await self.app(scope, receive, send_with_rules)
