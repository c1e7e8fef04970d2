"""libvips set up for untrusted input, once per process, and libvips errors translated to picstore's.

``ensure_ready`` is called by every pipeline entry point. It is idempotent and thread-safe, and it:

- blocks every loader libvips marks untrusted (``block_untrusted_set``), then blocks *all* loaders and
  unblocks only the six families the allowlist needs (JPEG, PNG, GIF, WebP, TIFF, HEIF). The pipeline
  calls those loaders by name and never the sniffing ``new_from_buffer``, so this is a second wall:
  SVG, matload, vipsload, csv/matrix and anything a future libvips adds cannot be reached at all;
- turns the libvips operation cache off: uploads are never repeated, and a cached load would keep an
  upload's buffer (and decoded pixels) alive after the request;
- refuses to run in a process forked from one where libvips already ran: libvips' worker threads do
  not survive a fork, and the child would hang on its first threaded operation. Start worker processes
  with spawn or forkserver instead.

The blocks are process-wide: other code in the same process that uses pyvips gets the same allowlist.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pyvips

from picstore.errors import CorruptImage, ImageRejected, TooManyPixels, TruncatedImage

#: libvips loader families the allowlist needs (each covers its file, buffer and source variants).
ALLOWED_LOADERS: tuple[str, ...] = (
    "VipsForeignLoadJpeg",
    "VipsForeignLoadPng",
    "VipsForeignLoadNsgif",
    "VipsForeignLoadWebp",
    "VipsForeignLoadTiff",
    "VipsForeignLoadHeif",
)

_lock = threading.Lock()
_ready_pid: int | None = None

_TRUNCATION_HINTS = (
    "premature end",
    "unexpected end",
    "truncated",
    "not enough data",
    "end of file",
    "bad seek",
    "out of data",
)


class ForkedAfterLibvips(RuntimeError):
    """The process was forked after libvips started; libvips cannot run safely here."""


def ensure_ready() -> None:
    """Harden libvips for untrusted input (once per process); refuse to run in a forked child."""
    global _ready_pid
    pid = os.getpid()
    if _ready_pid == pid:
        return
    with _lock:
        if _ready_pid == pid:
            return
        if _ready_pid is not None:
            raise ForkedAfterLibvips(
                "this process was forked after libvips started in its parent; libvips threads do not "
                "survive fork. Start workers with the 'spawn' or 'forkserver' method."
            )
        pyvips.block_untrusted_set(True)
        pyvips.operation_block_set("VipsForeignLoad", True)
        for family in ALLOWED_LOADERS:
            pyvips.operation_block_set(family, False)
        pyvips.cache_set_max(0)
        _ready_pid = pid


@contextmanager
def decoder_errors(fmt: str) -> Iterator[None]:
    """Turn a libvips failure inside the block into the refusal of a ``fmt`` upload.

    libvips decodes lazily, so a corrupt scan surfaces when pixels are first pulled (by an encoder or
    a sink), not when the loader is called: every block that evaluates pixels runs inside this.
    """
    try:
        yield
    except pyvips.Error as error:
        raise rejection(error, fmt) from None


def rejection(error: Exception, fmt: str) -> ImageRejected:
    """The picstore refusal for a decoder failure on ``fmt`` data.

    Truncation and corruption are told apart by the decoder's message. libvips keeps one error buffer
    per process, so when two uploads fail at the same instant one may be labelled with the other's
    kind; the refusal itself is always right.
    """
    detail = _detail(str(error))
    lowered = detail.lower()
    if "out of memory" in lowered:
        return TooManyPixels(f"the {fmt} image needs more memory to decode than allowed ({detail})")
    if any(hint in lowered for hint in _TRUNCATION_HINTS):
        return TruncatedImage(f"the {fmt} data is truncated or damaged ({detail}); upload the complete file")
    return CorruptImage(f"the {fmt} data is corrupt ({detail}); the image cannot be decoded")


def _detail(text: str) -> str:
    """The decoder's own words from a pyvips error, without pyvips' "unable to call" preamble."""
    lines = [" ".join(line.split()) for line in text.splitlines()]
    useful = [line for line in lines if line and not line.startswith("unable to ")]
    specific = [line for line in useful if not line.endswith(": load error")]
    return "; ".join(dict.fromkeys(specific or useful))[:240] or "decoder error"
