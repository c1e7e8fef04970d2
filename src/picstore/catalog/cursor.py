"""Page cursors for listing a tenant's images newest first.

A cursor is the (created_us, id) of the last image of a page, base64url-encoded: opaque to clients, and
checked before it reaches the database (a crafted cursor is an InvalidRequest, never a driver error).
"""

from __future__ import annotations

import base64

from picstore.errors import InvalidRequest


def encode_cursor(created_us: int, image_id: str) -> str:
    """The cursor that continues after the image created at ``created_us`` with ``image_id``."""
    return base64.urlsafe_b64encode(f"{created_us}:{image_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, str]:
    """The (created_us, id) a cursor names; InvalidRequest when it is not one picstore made."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created, image_id = raw.split(":", 1)
        created_us = int(created)
        # A crafted cursor must not reach the database: bigints beyond 63 bits and NUL break the query.
        if not 0 <= created_us < 2**63 or not (image_id.isascii() and image_id.isalnum()):
            raise ValueError(raw)
        return created_us, image_id
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidRequest("invalid cursor: pass the next_cursor of a previous page") from exc
