"""Ids, API key hashes and the content addresses blobs are stored under. Pure functions."""

from __future__ import annotations

import hashlib
import re
import secrets
from base64 import b32encode

from picstore.formats import EXTENSIONS

#: A tenant's slug: 1-64 lowercase letters, digits, '-' or '_', starting with a letter or digit. The API
#: schema (``web/schemas.py``) publishes this same pattern.
SLUG_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
_SLUG = re.compile(SLUG_PATTERN.removeprefix("^").removesuffix("$"))


def is_slug(text: str) -> bool:
    """True when ``text`` is a valid tenant slug (:data:`SLUG_PATTERN`)."""
    return _SLUG.fullmatch(text) is not None


def new_id(nbytes: int = 15) -> str:
    """A random, unguessable, URL- and filesystem-safe id (lowercase base32)."""
    return b32encode(secrets.token_bytes(nbytes)).decode().lower().rstrip("=")


def hash_api_key(api_key: str) -> str:
    """The form an API key is stored in. Keys are 256 random bits, so one SHA-256 is enough."""
    return hashlib.sha256(api_key.encode()).hexdigest()


def master_key(sha256: str, fmt: str) -> str:
    """The content address of a sanitized master: ``img/ab/cd/<sha256>.<ext>``."""
    return f"img/{sha256[:2]}/{sha256[2:4]}/{sha256}.{EXTENSIONS[fmt]}"


def variant_key(image_sha256: str, spec: str, fmt: str) -> str:
    """The address of a variant: ``var/<image sha256>/<digest of canonical spec>.<ext>``."""
    digest = hashlib.sha256(f"{spec}|{fmt}".encode()).hexdigest()[:24]
    return f"var/{image_sha256}/{digest}.{EXTENSIONS[fmt]}"


def clean_filename(filename: str | None) -> str | None:
    """Keep a user's filename as metadata only: its last path part, printable, bounded."""
    if not filename:
        return None
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable())[:255]
    return name or None
