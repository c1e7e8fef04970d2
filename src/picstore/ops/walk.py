"""Working on every catalogued blob a few at a time, with bounded memory.

Invariant: a walk of :meth:`BlobRows.walk <picstore.catalog.blobs.BlobRows.walk>` fed to
:func:`for_each` holds at most one page of rows plus the rows its workers are busy with
(``page_size + 2 * workers``), whatever the size of the catalog; rows come in key order, so a walk
stopped anywhere can start again and meet every remaining row.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

#: Rows read from the catalog at a time.
PAGE_SIZE = 500


def for_each(
    items: Iterable[T],
    work: Callable[[T], None],
    *,
    workers: int,
    stop: threading.Event | None = None,
    name: str = "blobs",
) -> None:
    """Run ``work`` on every item, ``workers`` at a time, with at most ``2 * workers`` items queued.

    Setting ``stop`` ends the walk: no new item starts, the ones running finish. An exception that
    ``work`` lets out stops the walk too, and is raised here once the running items have finished.
    """
    workers = max(1, workers)
    stop = stop or threading.Event()
    slots = threading.BoundedSemaphore(2 * workers)
    crashed: list[BaseException] = []

    def done(future: Future[None]) -> None:
        slots.release()
        error = future.exception()
        if error is not None:
            crashed.append(error)
            stop.set()

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name) as pool:
        for item in items:
            slots.acquire()
            if stop.is_set():
                slots.release()
                break
            pool.submit(work, item).add_done_callback(done)
    if crashed:
        raise crashed[0]
