"""Threads for heavy work (ingest, transform renders), below the threads that serve requests.

An upload costs a hundred times a read, most of it in libvips (which releases the GIL and uses every
core). Run at the same priority, a flood of uploads takes the cores from everyone else's reads. These
threads ask the kernel for less: on Linux each lowers its own priority (``nice`` + ``NICE``, and the
normal scheduling policy if the process runs under a real-time one) when it starts, so a request's
thread runs first whenever both want a core, while uploads still use every core nobody else needs.
libvips' own worker threads inherit that priority from the thread that starts them.

Invariants: at most ``workers`` threads; work submitted beyond that waits in order; :meth:`run` returns
only when the work has finished, even when the awaiting request is cancelled (the work is not
interruptible, and its result must be accounted for before the request ends). Elsewhere than on Linux
the threads run at the normal priority.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

#: How much nicer than the process these threads are (Linux ``nice`` steps: 10 is about a tenth of the
#: CPU share of a thread at the process's own priority, when both want a core).
NICE = 10


def lower_this_thread() -> None:
    """Lower the calling thread's CPU priority (Linux only; a refusal leaves it as it was)."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        if os.sched_getscheduler(0) != os.SCHED_OTHER:
            os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
    with contextlib.suppress(OSError):
        # On Linux, PRIO_PROCESS with who=0 is the calling thread, not the whole process.
        os.setpriority(os.PRIO_PROCESS, 0, min(19, os.getpriority(os.PRIO_PROCESS, 0) + NICE))


class BackgroundThreads:
    """A bounded pool of low-priority threads (see the module docstring)."""

    def __init__(self, workers: int, name: str = "ingest") -> None:
        self.workers = workers
        self._pool = ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix=name, initializer=lower_this_thread
        )

    async def run(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on one of the threads and return its result (waiting for it even if cancelled)."""
        future = asyncio.get_running_loop().run_in_executor(self._pool, fn)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            # Like anyio's to_thread: the request waits for the work it started, then ends cancelled.
            with contextlib.suppress(BaseException):
                await future
            raise

    def close(self) -> None:
        """Stop taking work; threads end when their current work has."""
        self._pool.shutdown(wait=False)
