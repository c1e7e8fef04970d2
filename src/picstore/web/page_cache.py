"""Rendered HTML pages kept in memory by (tenant, page), each valid while its fingerprint holds.

Used by the public listing (``web/ui/listing.py``); one per app, made by :func:`picstore.web.deps.install`.
An entry is reused only while the fingerprint it was rendered under is unchanged and for at most
``RENDERED_TTL`` seconds; the least recently used go first beyond ``RENDERED_MAX``.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass


def page_etag(html: str) -> str:
    """A strong ETag of a page's HTML."""
    return '"' + hashlib.sha256(html.encode()).hexdigest()[:32] + '"'


#: Longest a rendered page is reused when its fingerprint has not changed, and how many are kept.
RENDERED_TTL = 30.0
RENDERED_MAX = 256


@dataclass(frozen=True)
class Rendered:
    fingerprint: object
    html: str
    etag: str
    until: float


class RenderedPages:
    """Rendered listing pages by (tenant, page), each valid while its fingerprint is (at most
    ``RENDERED_TTL`` seconds); the least recently used go first beyond ``RENDERED_MAX``."""

    def __init__(self) -> None:
        self._pages: OrderedDict[tuple[str, int], Rendered] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, int], fingerprint: object) -> Rendered | None:
        with self._lock:
            found = self._pages.get(key)
            if found is None or found.fingerprint != fingerprint or found.until < time.monotonic():
                return None
            self._pages.move_to_end(key)
            return found

    def put(self, key: tuple[str, int], fingerprint: object, html: str) -> Rendered:
        rendered = Rendered(fingerprint, html, page_etag(html), time.monotonic() + RENDERED_TTL)
        with self._lock:
            self._pages[key] = rendered
            self._pages.move_to_end(key)
            while len(self._pages) > RENDERED_MAX:
                self._pages.popitem(last=False)
        return rendered
