"""Small helpers the tests share."""

from __future__ import annotations

import io


def make_jpeg(width: int = 64, height: int = 48, color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A small valid JPEG made with Pillow, distinct per size and colour."""
    from PIL import Image as PILImage

    buf = io.BytesIO()
    PILImage.new("RGB", (width, height), color).save(buf, "JPEG", quality=90)
    return buf.getvalue()
