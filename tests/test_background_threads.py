"""web/background.py: heavy work runs on bounded threads below the request threads' priority, and a
cancelled request still waits for the work it started."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time

import pytest

from picstore.web.background import NICE, BackgroundThreads


def _own_priority() -> tuple[int, int]:
    return os.getpriority(os.PRIO_PROCESS, 0), os.sched_getscheduler(0)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="thread priorities are Linux's")
def test_the_threads_run_nicer_than_the_caller_and_at_the_normal_policy() -> None:
    threads = BackgroundThreads(2)
    try:
        caller, _ = _own_priority()
        nice, policy = asyncio.run(threads.run(_own_priority))
        assert nice == min(19, caller + NICE) and policy == os.SCHED_OTHER
        # Only those threads: the caller's own priority is as it was.
        assert _own_priority()[0] == caller
    finally:
        threads.close()


def test_results_and_errors_come_back() -> None:
    threads = BackgroundThreads(1)

    def fail() -> None:
        raise ValueError("no")

    async def body() -> None:
        assert await threads.run(lambda: 6 * 7) == 42
        with pytest.raises(ValueError, match="no"):
            await threads.run(fail)

    try:
        asyncio.run(body())
    finally:
        threads.close()


def test_at_most_workers_run_at_once() -> None:
    threads = BackgroundThreads(2)
    running, most = 0, 0
    lock = threading.Lock()

    def work() -> None:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.05)
        with lock:
            running -= 1

    async def body() -> None:
        await asyncio.gather(*(threads.run(work) for _ in range(6)))

    try:
        asyncio.run(body())
    finally:
        threads.close()
    assert most == 2


def test_a_cancelled_caller_waits_for_the_work_it_started() -> None:
    threads = BackgroundThreads(1)
    finished = threading.Event()

    def slow() -> None:
        time.sleep(0.2)
        finished.set()

    async def body() -> None:
        task = asyncio.ensure_future(threads.run(slow))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # The cancellation reached the caller only once the work was done.
        assert finished.is_set()

    try:
        asyncio.run(body())
    finally:
        threads.close()
