"""Who is using the web UI: a session cookie, and the CSRF token every state-changing request must carry.

- The session cookie holds a random token (:mod:`picstore.access`); it is ``HttpOnly``, ``SameSite=Lax``,
  ``Secure`` when picstore is reached over https, and scoped to picstore's own paths (``/``, or the
  mount prefix such as ``/pictures`` when mounted in another application).
- The CSRF token is an HMAC of the session token: the page puts it in each form (``csrf`` field) and the
  scripts send it as ``X-CSRF-Token``; a POST without the right one is refused before anything changes.
  Before sign-in, the login forms use a double-submit cookie instead (no session exists yet).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from picstore.errors import Forbidden
from picstore.models import Tenant
from picstore.store import ImageStore
from picstore.web.deps import get_store
from picstore.web.ui.paths import root

SESSION_COOKIE = "picstore_session"
LOGIN_CSRF_COOKIE = "picstore_login_csrf"
CSRF_HEADER = "x-csrf-token"


@dataclass(frozen=True)
class Session:
    """A signed-in browser: a tenant's customer, or the admin (``tenant`` None)."""

    token: str
    tenant: Tenant | None

    @property
    def csrf(self) -> str:
        """The CSRF token of this session's forms and fetches."""
        return hmac.new(self.token.encode(), b"picstore csrf", hashlib.sha256).hexdigest()

    @property
    def is_admin(self) -> bool:
        return self.tenant is None

    @property
    def customer(self) -> Tenant:
        """The signed-in tenant; SignInRequired for the admin's session."""
        if self.tenant is None:
            raise SignInRequired()
        return self.tenant


class SignInRequired(Exception):
    """The page needs a signed-in tenant (or the admin); the handler sends the browser to sign in."""

    def __init__(self, admin: bool = False) -> None:
        super().__init__("sign in first")
        self.admin = admin


def store_of(request: Request) -> ImageStore:
    """The app's store (through :mod:`picstore.web.deps`, like every route)."""
    return get_store(request)


def current_session(request: Request) -> Session | None:
    """The browser's live session, or None."""
    token = request.cookies.get(SESSION_COOKIE, "")
    grant = store_of(request).access.session(token) if token else None
    return None if grant is None else Session(token=token, tenant=grant.tenant)


def tenant_session(request: Request) -> Session:
    """A tenant's session (FastAPI dependency); SignInRequired otherwise."""
    session = current_session(request)
    if session is None or session.tenant is None:
        raise SignInRequired()
    return session


def admin_session(request: Request) -> Session:
    """The admin's session (FastAPI dependency); SignInRequired otherwise."""
    session = current_session(request)
    if session is None or not session.is_admin:
        raise SignInRequired(admin=True)
    return session


def check_csrf(request: Request, expected: str, form: FormData | None = None) -> None:
    """Refuse a state-changing request whose CSRF token (form field or header) is not ``expected``."""
    given = request.headers.get(CSRF_HEADER) or (form.get("csrf") if form is not None else None)
    if not isinstance(given, str) or not expected or not hmac.compare_digest(given, expected):
        raise Forbidden("the form expired or came from another site: reload the page and try again")


def _secure(request: Request) -> bool:
    return store_of(request).url_builder.base_url.startswith("https://") or request.url.scheme == "https"


def _cookie_path(request: Request) -> str:
    # Mounted, the cookies stay with picstore's paths: the host application never receives them.
    return root(request) or "/"


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    """Send the session cookie."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=store_of(request).settings.session_ttl,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        path=_cookie_path(request),
    )


def clear_session_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path=_cookie_path(request), httponly=True, samesite="lax")


def login_csrf(request: Request) -> str:
    """The double-submit token of the sign-in forms: the cookie's, or a new one (sent by the caller)."""
    return request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)


def set_login_csrf(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
        path=_cookie_path(request),
    )


def check_login_csrf(request: Request, form: FormData) -> None:
    """The sign-in forms' CSRF check: the form's token must equal its cookie."""
    check_csrf(request, request.cookies.get(LOGIN_CSRF_COOKIE, ""), form)
