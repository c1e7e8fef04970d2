"""What an application may hand to :meth:`ImageStore.put <picstore.store.ImageStore.put>`, read capped.

Invariant: at most ``limit + 1`` bytes are read from a path or a file object, however large it is, so an
oversized upload is refused with :class:`~picstore.errors.TooLarge` without being read whole.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

from picstore.errors import InvalidRequest, TooLarge

#: Bytes, a path, or a binary file object.
Data = bytes | bytearray | memoryview | str | os.PathLike[str] | BinaryIO


def read_capped(data: Data, limit: int) -> bytes:
    """The bytes of ``data``; TooLarge when there are more than ``limit``."""
    if isinstance(data, bytes | bytearray | memoryview):
        raw = bytes(data)
    elif isinstance(data, str | os.PathLike):
        with Path(data).open("rb") as fh:
            raw = fh.read(limit + 1)
    elif hasattr(data, "read"):
        raw = data.read(limit + 1)
        if not isinstance(raw, bytes):
            raise InvalidRequest("the file object must be opened in binary mode")
    else:
        raise InvalidRequest(f"cannot read image data from {type(data).__name__}")
    if len(raw) > limit:
        raise TooLarge(f"the upload is larger than the limit of {limit:,} bytes")
    return raw
