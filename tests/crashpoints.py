"""Crash points: run one picstore operation in this process and SIGKILL it before its Nth step.

The steps are the operation's durable effects, observed from outside the code so the list follows the
code as it changes: every catalog transaction that wrote something (its commit) and every blob write
or delete. Killing before step ``i`` leaves exactly the effects of the steps before it; killing at
``len(steps)`` kills after the last effect, before the caller hears back.

    python -m tests.crashpoints OP DIR record        prints the steps as JSON
    python -m tests.crashpoints OP DIR KILL_AT       dies by SIGKILL before step KILL_AT

``DIR`` holds a catalog, file stores and ``context.json``, made by ``tests/test_crash_points.py``.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import event

from picstore import ImageStore
from picstore.blobs.local import LocalStore
from picstore.ops.migrate import migrate
from picstore.settings import Settings, load_settings
from picstore.uploads import DirectUploads

WRITES = ("INSERT", "UPDATE", "DELETE")


def settings_for(root: Path) -> Settings:
    """The store under ``root``: one small preset in two formats keeps the step count (and runs) low."""
    return load_settings(
        storage=(root / "blobs").as_uri(),
        database=f"sqlite:///{root / 'cat.db'}",
        public_url="http://t",
        variants={"thumb": "cover:32x32"},
        variant_formats=("jpeg", "webp"),
    )


def _run_op(op: str, store: ImageStore, root: Path, context: dict[str, Any]) -> None:
    if op == "put":
        store.put((root / "upload.jpg").read_bytes(), "acme", idempotency_key="crash-1")
    elif op == "complete":
        DirectUploads(store).complete(context["upload_id"], "acme")
    elif op == "delete":
        store.delete(context["image_id"])
    elif op == "gc":
        store.gc(0)
    elif op == "migrate":
        migrate(store, (root / "target").as_uri(), workers=1)
    else:
        raise SystemExit(f"unknown op {op!r}")


OPS = ("put", "complete", "delete", "gc", "migrate")


def main(op: str, root: Path, kill_at: str) -> None:
    context = json.loads((root / "context.json").read_text())
    steps: list[str] = []
    limit = -1 if kill_at == "record" else int(kill_at)

    def step(name: str) -> None:
        if len(steps) == limit:
            os.kill(os.getpid(), signal.SIGKILL)
        steps.append(name)

    def wrap(method: Callable[..., Any], name: str) -> Callable[..., Any]:
        def wrapped(self: LocalStore, key: str, *args: Any, **kwargs: Any) -> Any:
            step(f"{name} {Path(self.url).name}:{key.split('/')[0]}")
            return method(self, key, *args, **kwargs)

        return wrapped

    LocalStore.put = wrap(LocalStore.put, "blob.put")  # type: ignore[method-assign]
    LocalStore.delete = wrap(LocalStore.delete, "blob.delete")  # type: ignore[method-assign]
    with ImageStore(settings=settings_for(root)) as store:

        @event.listens_for(store.engine, "before_cursor_execute")
        def note_write(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            if statement.lstrip().upper().startswith(WRITES):
                conn.info["wrote"] = True

        @event.listens_for(store.engine, "commit")
        def before_commit(conn: Any) -> None:
            if conn.info.pop("wrote", False):
                step("catalog.commit")

        _run_op(op, store, root, context)
    if len(steps) == limit:
        os.kill(os.getpid(), signal.SIGKILL)
    print(json.dumps(steps))


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]), sys.argv[3])
