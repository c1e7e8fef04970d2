"""Steps the browser tests share: files to upload, uploading through the dashboard, reading the grid."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.helpers import make_jpeg


def upload_files(tmp_path: Path) -> list[Path]:
    """Two real pictures (800x600 and 600x800) and a text file named like a JPEG."""
    files = [
        ("sea.jpg", make_jpeg(800, 600, (20, 90, 200))),
        ("garden.jpg", make_jpeg(600, 800, (30, 160, 60))),
        ("notes.jpg", b"these are my notes, not a picture\n" * 20),
    ]
    paths = []
    for name, data in files:
        path = tmp_path / name
        path.write_bytes(data)
        paths.append(path)
    return paths


def upload(page: Any, paths: list[Path]) -> dict[str, str]:
    """Add ``paths`` to the dashboard's uploader at once, upload them, and return each file's verdict."""
    page.locator("[data-picstore-upload] input[type=file]").first.set_input_files([str(p) for p in paths])
    page.get_by_role("button", name=f"Upload {len(paths)} file").click()
    verdicts = page.locator(".picstore-verdicts li")
    verdicts.nth(len(paths) - 1).wait_for()
    return {item.get_attribute("data-file"): item.inner_text() for item in verdicts.all()}


def grid_files(page: Any) -> list[str]:
    """The filenames of the dashboard's grid, in order."""
    return [t.strip() for t in page.locator("[data-grid] .filename").all_inner_texts()]
