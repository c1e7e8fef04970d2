"""Small helpers the tests share."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any


def make_jpeg(width: int = 64, height: int = 48, color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A small valid JPEG made with Pillow, distinct per size and colour."""
    from PIL import Image as PILImage

    buf = io.BytesIO()
    PILImage.new("RGB", (width, height), color).save(buf, "JPEG", quality=90)
    return buf.getvalue()


#: Red, green, blue: frames whose colour says which frame they are.
FRAME_COLOURS = ((255, 0, 0), (0, 255, 0), (0, 0, 255))


def make_animation(fmt: str, durations: list[int], size: tuple[int, int] = (20, 10), **params: Any) -> bytes:
    """An animation made with Pillow in ``fmt`` (``PNG`` makes an APNG), one frame of FRAME_COLOURS per
    duration, saved with ``params`` (``loop``, ``default_image``, ``quality`` ...)."""
    from PIL import Image as PILImage

    images = [PILImage.new("RGB", size, c) for c in FRAME_COLOURS[: len(durations)]]
    buf = io.BytesIO()
    images[0].save(buf, fmt, save_all=True, append_images=images[1:], duration=durations, **params)
    return buf.getvalue()


def run_picstore(cwd: Path, env: dict[str, str], *args: str, timeout: float = 120) -> Any:
    """Run ``python -m picstore ARGS`` in ``cwd`` with ``env``, output captured as text (piped, no tty)."""
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "picstore", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def every_image(store: Any, tenant: str) -> list[Any]:
    """Every image of ``tenant``, following the listing's cursor to the end."""
    out: list[Any] = []
    cursor = None
    while True:
        page = store.list(tenant, 1000, cursor)
        out.extend(page.items)
        if page.next_cursor is None:
            return out
        cursor = page.next_cursor
