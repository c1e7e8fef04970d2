"""Inputs the conformance suites share: keys every verb must refuse, and one way to call each verb."""

from __future__ import annotations

from picstore.blobs.base import BlobStore

#: Keys every verb must refuse, with a readable id for each.
MALFORMED_KEYS: dict[str, str] = {
    "parent": "../x",
    "absolute": "/abs",
    "empty-segment": "a//b",
    "dot-segment": "a/./b",
    "dotdot-segment": "a/../b",
    "nul": "a\x00b",
    "backslash": "a\\b",
    "empty": "",
    "too-long": "x" * 600,
    "hidden": ".hidden",
    "trailing-slash": "a/b/",
    "unicode": "caf\u00e9.jpg",
    "fullwidth": "\uff41.jpg",
    "percent-encoded": "%2e%2e/x",
    "trailing-newline": "a\n",
    "space": "a b",
}
#: Prefixes ``list`` must refuse ('' and a trailing '/' are fine for a prefix).
MALFORMED_PREFIXES = {k: v for k, v in MALFORMED_KEYS.items() if k not in ("empty", "trailing-slash")}
VERBS = ("put", "get", "open", "head", "delete", "public_url")


def call(store: BlobStore, verb: str, key: str) -> object:
    """Call ``verb`` of ``store`` on ``key`` the simplest way (reading ``open``'s file whole)."""
    if verb == "put":
        return store.put(key, b"x", content_type="image/jpeg")
    if verb == "open":
        with store.open(key) as f:
            return f.read()
    return getattr(store, verb)(key)
