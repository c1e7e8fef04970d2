"""Signed transform URLs: ``/t/{signature}/{spec}/{image_id}``.

The signature is ``base64url(HMAC-SHA256(key, "{spec}/{image_id}"))`` without padding, over the exact
characters of the URL's spec and id. Invariants:

- :meth:`Signer.verify` runs first, on the raw strings, before anything of the spec is parsed: an unsigned
  or forged URL costs one HMAC per key and nothing else, and reaches no parser, catalog or decoder.
- Comparisons use :func:`hmac.compare_digest` (constant time). Every configured key is tried, so keys can
  rotate: add the new key first (it signs from then on), keep the old ones until their URLs have aged out
  of caches and pages, then remove them; a removed (retired) key's URLs stop verifying at once.
- An expiry (``exp=`` in the spec) is part of what is signed, so it cannot be extended or removed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from urllib.parse import quote

from picstore.errors import ConfigError, InvalidSignature, TransformsDisabled

#: The shortest signing key accepted (characters); a short key can be brute-forced from one URL.
MIN_KEY_LENGTH = 32
#: The path prefix transforms are served under by ``picstore serve``.
TRANSFORM_PREFIX = "/t/"


def signature(key: str, spec: str, image_id: str) -> str:
    """The signature of ``spec`` and ``image_id`` under ``key``."""
    digest = hmac.new(key.encode(), f"{spec}/{image_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


class Signer:
    """Signs with the first key and accepts a signature by any of ``keys`` (newest first)."""

    def __init__(self, keys: Sequence[str]) -> None:
        for key in keys:
            if len(key) < MIN_KEY_LENGTH:
                raise ConfigError(
                    f"transform signing keys must be at least {MIN_KEY_LENGTH} characters; make one with "
                    "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
                )
        self._keys = [key.encode() for key in keys]

    @property
    def enabled(self) -> bool:
        """True when at least one key is configured."""
        return bool(self._keys)

    def sign(self, spec: str, image_id: str) -> str:
        """The signature of a canonical spec for an image, with the newest key."""
        if not self._keys:
            raise TransformsDisabled(
                "transforms need a signing key: set PICSTORE_TRANSFORM_KEYS (docs/transforms.md)"
            )
        return signature(self._keys[0].decode(), spec, image_id)

    def verify(self, given: str, spec: str, image_id: str) -> None:
        """Raise InvalidSignature unless ``given`` signs ``spec`` and ``image_id`` under one of the keys."""
        if not self._keys:
            raise TransformsDisabled("transforms are not enabled on this server")
        # Bytes, so that a non-ASCII signature compares (and fails) in constant time too.
        offered = given.encode("utf-8", "surrogateescape")
        message = f"{spec}/{image_id}".encode("utf-8", "surrogateescape")
        matched = False
        for key in self._keys:
            digest = hmac.new(key, message, hashlib.sha256).digest()
            expected = base64.urlsafe_b64encode(digest).rstrip(b"=")
            matched |= hmac.compare_digest(offered, expected)
        if not matched:
            raise InvalidSignature(
                "the URL's signature is not valid; make transform URLs with the current key"
            )

    def path(self, spec: str, image_id: str) -> str:
        """The signed path ``/t/{signature}/{spec}/{image_id}`` of a canonical spec."""
        return f"{TRANSFORM_PREFIX}{self.sign(spec, image_id)}/{quote(spec, safe=',=:.')}/{quote(image_id)}"
