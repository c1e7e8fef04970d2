"""Memory of the serving process: glibc's malloc arenas capped, so RSS stays flat under libvips threads.

glibc gives every thread that allocates concurrently an arena of its own (up to 8 per core). A server
that renders images from a pool of threads, each of which allocates and frees megabytes through libvips,
then keeps growing: freed memory stays in many half-empty arenas. Measured with ``benchmarks/transform.py``
(2,000 renders at concurrency 4): RSS 276 -> 331 MiB and still climbing with glibc's default, flat at
~220 MiB with two arenas, at the same requests per second. ``MALLOC_ARENA_MAX`` set in the environment
wins over this.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

#: ``M_ARENA_MAX`` from glibc's malloc.h.
_M_ARENA_MAX = -8


def cap_malloc_arenas(arenas: int = 2) -> bool:
    """Cap glibc's malloc arenas for threads started from now on; False where that is not glibc."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        return bool(libc.mallopt(_M_ARENA_MAX, arenas))
    except (OSError, AttributeError):
        return False
