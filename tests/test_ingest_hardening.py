"""libvips hardening and the pipeline's promises: loader allowlist, no fork, purity, thread safety."""

from __future__ import annotations

import io
import os
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import pyvips
from PIL import Image

from picstore.ingest import IngestOptions, ingest
from picstore.ingest.libvips import ForkedAfterLibvips, ensure_ready

SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>'


def _upload(fmt: str, seed: int) -> bytes:
    x = pyvips.Image.xyz(240 + seed, 160)
    rgb = (x[0] * (seed + 1) % 256).bandjoin([x[1], x[0] + x[1]]).cast("uchar").copy(interpretation="srgb")
    image = Image.frombytes("RGB", (rgb.width, rgb.height), rgb.write_to_memory())
    buf = io.BytesIO()
    if fmt == "GIF-anim":
        frames = [image, image.rotate(90), image.rotate(180)]
        frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=80)
    elif fmt == "APNG":
        image.save(buf, "PNG", save_all=True, append_images=[image.rotate(180)], duration=80)
    else:
        image.save(buf, fmt)
    return buf.getvalue()


def test_only_allowlisted_loaders_are_reachable() -> None:
    ensure_ready()
    with pytest.raises(pyvips.Error, match="blocked"):
        pyvips.Image.svgload_buffer(SVG)
    with pytest.raises(pyvips.Error):
        pyvips.Image.new_from_buffer(SVG, "")  # the sniffing loader cannot reach SVG either
    with pytest.raises(pyvips.Error, match="blocked"):
        pyvips.Image.matrixload_source(pyvips.Source.new_from_memory(b"2 2\n0 0\n0 0\n"))
    assert pyvips.Image.jpegload_buffer(_upload("JPEG", 1)).width == 241
    assert pyvips.cache_get_max() == 0  # no upload's buffer or pixels outlive its request


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_process_forked_after_libvips_started_refuses_to_run() -> None:
    ensure_ready()
    pid = os.fork()
    if pid == 0:  # child: only Python runs here, then _exit, whatever happens
        try:
            ensure_ready()
        except ForkedAfterLibvips:
            os._exit(7)
        except BaseException:
            os._exit(1)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 7


@pytest.fixture
def audit() -> Iterator[list[tuple[str, Any]]]:
    events: list[tuple[str, Any]] = []
    watching = threading.Event()
    watched = ("open", "os.", "socket.", "subprocess.", "shutil.", "urllib.", "http.", "tempfile.")

    def hook(event: str, args: Any) -> None:
        if watching.is_set() and event.startswith(watched) and event not in ("os.listdir", "os.putenv"):
            events.append((event, args))

    sys.addaudithook(hook)  # cannot be removed; it only records while the event is set
    watching.set()
    yield events
    watching.clear()


def test_ingest_is_pure(audit: list[tuple[str, Any]]) -> None:
    with open(os.devnull, "rb"):
        pass
    assert any(event == "open" for event, _ in audit)  # the hook does see file I/O
    audit.clear()
    uploads = [_upload(fmt, 2) for fmt in ("JPEG", "PNG", "WEBP", "GIF-anim", "APNG", "TIFF")]
    for data in uploads:  # warm up: Pillow imports its plugins lazily (imports open files)
        ingest(data, IngestOptions())
    audit.clear()
    for data in uploads:
        ingest(data, IngestOptions())
    assert audit == []  # no file, socket or process opened while an upload was ingested


def test_concurrent_uploads_give_the_same_bytes_as_sequential_ones() -> None:
    uploads = [_upload(fmt, seed) for seed in range(3) for fmt in ("JPEG", "PNG", "GIF-anim", "APNG")]
    expected = [ingest(data, IngestOptions()) for data in uploads]
    with ThreadPoolExecutor(max_workers=4) as pool:
        for _round in range(2):
            got = list(pool.map(lambda d: ingest(d, IngestOptions()), uploads))
            assert got == expected
