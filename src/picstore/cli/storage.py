"""Moving between blob stores: ``storage show``, ``storage use``, ``migrate``, ``verify``."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from picstore.cli.app import JsonOpt, app, err, open_store
from picstore.cli.command import App
from picstore.cli.console import line, note, print_json
from picstore.models import BlobLocation

storage_app = App(help="Show or switch the blob store that takes new uploads (for every node).")
app.add_typer(storage_app, name="storage")

WorkersOpt = Annotated[
    int,
    typer.Option(
        "--concurrency", "--workers", "-j", metavar="N", help="Blobs handled in parallel.", min=1, max=128
    ),
]


@storage_app.command("show")
def storage_show(as_json: JsonOpt = False) -> None:
    """Print the store new uploads go to (the catalog's write target) and what the settings say."""
    with open_store(as_json) as store:
        target, configured = store.blobs.url, store.settings.storage_url
    if as_json:
        print_json({"write_target": target, "settings": configured})
        return
    line(target)
    if configured.rstrip("/") != target.rstrip("/"):
        note(f"(the settings say {configured}; the catalog decides: new uploads go to {target})")


@storage_app.command("use")
def storage_use(
    url: Annotated[
        str, typer.Argument(metavar="URL", help="Blob store URL: s3://bucket/prefix, file:///path ...")
    ],
    as_json: JsonOpt = False,
) -> None:
    """Send new uploads to URL, on every node within a few seconds (target_ttl), with no restart.

    Existing blobs stay where they are and are still served from there; `picstore migrate --to URL`
    moves them. The store is checked first: a missing bucket or refused credentials change nothing.
    """
    with open_store(as_json) as store:
        previous = store.use_storage(url)
        target, ttl = store.blobs.url, store.settings.target_ttl
    if as_json:
        print_json({"write_target": target, "previous": previous})
    else:
        note(f"new uploads go to {target} (was {previous}); every node follows within {ttl:g} s")


@contextmanager
def _bar(enabled: bool, label: str, total: int, total_bytes: int) -> Iterator[Callable[[BlobLocation], None]]:
    """A progress bar over blobs and bytes (rate, ETA); yields the function that counts one blob."""
    if not (enabled and err.is_terminal):  # a bar written to a pipe or a log is noise, not progress
        yield lambda _loc: None
        return
    columns = (
        TextColumn(label),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[blobs]:,}/{task.fields[of]:,} blobs"),
        DownloadColumn(),
        TransferSpeedColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task(label, total=max(total_bytes, 1), blobs=0, of=total, rate="")
        done = [0]
        started = time.monotonic()

        def advance(loc: BlobLocation) -> None:
            done[0] += 1
            rate = f"{done[0] / max(time.monotonic() - started, 1e-6):,.0f} blobs/s"
            bar.update(task, advance=loc.size, blobs=done[0], of=max(total, done[0]), rate=rate)

        yield advance


@app.command()
def migrate(
    to: Annotated[
        str, typer.Option("--to", metavar="URL", help="Target blob store URL, e.g. s3://bucket/prefix.")
    ],
    workers: WorkersOpt = 16,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check the target and count; copy nothing.")
    ] = False,
    read_back: Annotated[
        bool, typer.Option("--read-back", help="Also read every copy back and check its SHA-256.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Switch new uploads to another store, then copy every blob there, verifying each copy.

    Each blob is read, checked against its recorded size and SHA-256, written create-only, and the copy
    proved (the store's MD5 ETag of the write, or reading it back) before the catalog points at it.
    Safe to stop (Ctrl+C, kill -9) and run again: it resumes, and a finished migration copies nothing.
    The source is never modified. A missing bucket or refused credentials stop it at once, before
    anything changes.
    """
    from picstore.ops.migrate import migrate as run_migration

    with open_store(as_json) as store:
        total, total_bytes = store.catalog.blobs.totals(not_in=store.store_for(to).url)
        with _bar(not as_json and not dry_run, "migrating", total, total_bytes) as advance:
            report = run_migration(
                store, to, workers=workers, progress=advance, dry_run=dry_run, read_back=read_back
            )
    if as_json:
        print_json(report.to_dict())
        raise typer.Exit(0 if report.ok else 1)
    if report.stopped is not None:
        note(report.stopped, "red", "stopped:")
        note("every blob would fail the same way: fix that, then run the same command again")
    elif report.dry_run:
        note(
            f"dry run: {report.total:,} blobs ({report.total_bytes:,} bytes) would move to {report.target}; "
            f"new uploads would go there instead of {report.previous_target}. The target answers and "
            "accepts writes."
        )
    elif report.total == 0 and report.passes <= 1:
        note(f"nothing to copy: every blob is in {report.target}, which takes new uploads")
    else:
        rate = report.copied / report.seconds if report.seconds else 0.0
        if report.settle_seconds:
            note(
                f"new uploads switched to {report.target}; waited {report.settle_seconds:g} s for every node"
            )
        note(
            f"{report.copied:,} copied ({report.bytes_copied:,} bytes, {rate:,.0f} blobs/s), "
            f"{report.already_there:,} already there, {report.skipped:,} skipped (unused, never written), "
            f"{len(report.failed):,} failed, in {report.seconds:.1f} s"
        )
        note(f"new uploads go to {report.target}")
    for key, why in sorted(report.failed.items()):
        note(f"{key}: {why}", "red", "failed")
    if report.failed:
        note("failed blobs stay where they were (still served); run the same command again to retry")
    elif report.ok and not report.dry_run:
        note("next: `picstore verify` says when the old store can be removed")
    raise typer.Exit(0 if report.ok else 1)


@app.command()
def verify(
    quick: Annotated[bool, typer.Option(help="Check sizes only (HEAD), not SHA-256 of the bytes.")] = False,
    workers: WorkersOpt = 16,
    as_json: JsonOpt = False,
) -> None:
    """Check that every blob the catalog knows is where it says, with the recorded size and SHA-256.

    Also says whether any blob still lives outside the write target (after a migration: whether the
    old store can be removed). Exits 0 when every blob checks out, 1 otherwise.
    """
    from picstore.ops.verify import verify as run_verify

    with open_store(as_json) as store:
        total, total_bytes = store.catalog.blobs.totals()
        with _bar(not as_json, "verifying", total, total_bytes) as advance:
            report = run_verify(store, full=not quick, workers=workers, progress=advance)
    if as_json:
        print_json(report.to_dict())
        raise typer.Exit(0 if report.ok else 1)
    note(
        f"{report.checked:,} checked, {len(report.missing):,} missing, {len(report.damaged):,} damaged, "
        f"{len(report.unchecked):,} unreadable"
    )
    for key in report.missing:
        note(key, "red", "missing")
    for key in report.damaged:
        note(key, "red", "damaged")
    for key, why in sorted(report.unchecked.items()):
        note(f"{key}: {why}", "red", "unreadable")
    for url, count in report.stores.items():
        role = "write target" if url == report.write_target else "still used"
        note(f"{count:,} blobs in {url} ({role})")
    if report.old_stores_removable:
        note(f"every blob is in {report.write_target}: stores used before can be removed")
    elif report.elsewhere:
        note(f"keep {', '.join(report.elsewhere)}: run `picstore migrate --to {report.write_target}`")
    raise typer.Exit(0 if report.ok else 1)
