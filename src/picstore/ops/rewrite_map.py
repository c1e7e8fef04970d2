"""Rewrite maps for a front server: old paths of imported pictures to their URLs, for nginx or lighttpd.

For sites that keep a front server in place of ``picstore serve`` answering the old paths itself. Both
maps answer 301. nginx compares its decoded ``$uri``, so paths are written as their bytes; lighttpd
matches the percent-encoded request path, so each reserved byte matches either spelling.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import unquote_to_bytes

from picstore.errors import InvalidRequest, NotFound
from picstore.store import ImageStore

KINDS = ("nginx", "lighttpd")
_UNRESERVED = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~/")


def redirects(store: ImageStore, prefix: str) -> Iterator[tuple[bytes, str]]:
    """Every imported old path (decoded bytes, behind ``prefix``) and the URL of its picture now."""
    base = prefix.rstrip("/").encode()
    for row in store.catalog.legacy.walk():
        if row.image_id is None:
            continue
        try:
            url = store.url(row.image_id)
        except NotFound:
            continue  # deleted since: the front server answers 404 like for any unknown path
        yield base + unquote_to_bytes(row.path), url


def _nginx_string(value: bytes) -> bytes:
    return b'"' + value.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


def _lighttpd_pattern(path: bytes) -> str:
    """An anchored regex for ``path`` with no backslash or quote in it (lighttpd strings need none)."""
    out = ["^"]
    for byte in path:
        char = chr(byte)
        if byte in _UNRESERVED:
            out.append("[.]" if char == "." else char)
            continue
        hexed = f"%{byte:02X}" if f"{byte:02X}" == f"{byte:02x}" else f"%(?:{byte:02X}|{byte:02x})"
        if 0x20 < byte < 0x7F and char not in '"\\[]^':
            # A client (or lighttpd's normalisation) may send printable reserved characters unescaped.
            out.append(f"(?:{hexed}|[{char}])")
        else:
            out.append(hexed)
    out.append("$")
    return "".join(out)


def rewrite_map(store: ImageStore, kind: str, prefix: str) -> Iterator[bytes]:
    """The lines of a ``kind`` map (``nginx`` or ``lighttpd``) redirecting old paths under ``prefix``."""
    if kind not in KINDS:
        raise InvalidRequest(f"unknown rewrite map {kind!r}: use one of {', '.join(KINDS)}")
    if kind == "nginx":
        yield b"# picstore: old picture paths -> their URLs. Include in the http block, then in the server:\n"
        yield b"#   if ($picstore_redirect) { return 301 $picstore_redirect; }\n"
        yield b'map $uri $picstore_redirect {\n    default "";\n'
        for path, url in redirects(store, prefix):
            yield b"    " + _nginx_string(path) + b" " + _nginx_string(url.encode()) + b";\n"
        yield b"}\n"
        return
    yield b"# picstore: old picture paths -> their URLs (needs mod_redirect).\n"
    yield b"url.redirect-code = 301\nurl.redirect = (\n"
    for path, url in redirects(store, prefix):
        # picstore's URLs are plain ASCII without quotes; the pattern holds neither quote nor backslash.
        yield f'    "{_lighttpd_pattern(path)}" => "{url}",\n'.encode()
    yield b")\n"
