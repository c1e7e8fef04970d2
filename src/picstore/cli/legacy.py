"""``picstore import``: bring a legacy picture tree into the catalog, or write its redirect map."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.filesize import decimal
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from picstore.cli.app import JsonOpt, app, err, fail, open_store
from picstore.cli.console import note, print_json
from picstore.errors import InvalidRequest
from picstore.ops.importer import ImportReport, TenantRule, import_tree, walk_files


@app.command("import")
def import_(
    directory: Annotated[
        Path | None,
        typer.Argument(
            metavar="DIRECTORY", help="The old picture tree (any layout).", exists=True, file_okay=False
        ),
    ] = None,
    tenant: Annotated[
        str | None, typer.Option("--tenant", "-t", metavar="SLUG", help="Put every file in this tenant.")
    ] = None,
    tenant_from: Annotated[
        str | None,
        typer.Option(
            "--tenant-from",
            metavar="PATTERN",
            help="Regular expression on each file's relative path whose first group (or group 'tenant') "
            "is the tenant slug, e.g. '^([^/]+)/' for the top folder.",
        ),
    ] = None,
    create_tenants: Annotated[
        bool, typer.Option("--create-tenants", help="Create missing tenants (their API keys are printed).")
    ] = False,
    path_prefix: Annotated[
        str,
        typer.Option(
            metavar="PATH", help="Folder of DIRECTORY inside the old URL tree, when it is not the top."
        ),
    ] = "",
    workers: Annotated[
        int | None,
        typer.Option("--concurrency", "-j", metavar="N", help="Files ingested in parallel.", min=1, max=64),
    ] = None,
    emit_rewrite_map: Annotated[
        str | None,
        typer.Option(
            "--emit-rewrite-map",
            metavar="nginx|lighttpd",
            help="Instead of (or after) importing, write a redirect map of every imported old path for "
            "a front server: nginx or lighttpd.",
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", metavar="FILE", help="Write the map here (default stdout)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Import a legacy picture tree: every file, in parallel, each recorded with its old path.

    Old URLs keep working: with PICSTORE_LEGACY_PREFIX set (the old tree's URL path, e.g. /pictures),
    `picstore serve` answers them with a 301 to the picture; or write a map for nginx or lighttpd with
    --emit-rewrite-map. Files that are not acceptable images are listed with their codes. Safe to stop
    and run again: recorded files are skipped, so nothing is imported twice.
    """
    if directory is None and emit_rewrite_map is None:
        fail(InvalidRequest("give the DIRECTORY to import (or --emit-rewrite-map nginx|lighttpd)"), as_json)
    with open_store(as_json) as store:
        if directory is not None:
            rule = TenantRule.of(tenant, tenant_from)
            with _bar(directory, enabled=not as_json) as advance:
                report = import_tree(
                    store,
                    directory,
                    rule,
                    create_tenants=create_tenants,
                    path_prefix=path_prefix,
                    workers=workers,
                    progress=advance,
                )
            if emit_rewrite_map is None:
                _print_report(report, as_json)
                raise typer.Exit(0 if report.ok else 1)
        from picstore.ops.rewrite_map import rewrite_map

        assert emit_rewrite_map is not None
        lines = rewrite_map(store, emit_rewrite_map, store.settings.legacy_prefix or "/")
        if output is None:
            sys.stdout.buffer.writelines(lines)
            sys.stdout.buffer.flush()
        else:
            with output.open("wb") as fh:
                fh.writelines(lines)
            note(f"wrote {output}")


@contextmanager
def _bar(directory: Path, *, enabled: bool) -> Iterator[Callable[[int], None]]:
    """A progress bar over the tree's files (counted first), with bytes read, rate and ETA."""
    if not (enabled and err.is_terminal):  # a bar written to a pipe or a log is noise, not progress
        yield lambda _size: None
        return
    total = sum(1 for _ in walk_files(directory))
    columns = (
        TextColumn("importing"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("files"),
        TextColumn("{task.fields[read]}"),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task("import", total=total, read="", rate="")
        read = [0]

        def advance(size: int) -> None:
            read[0] += size
            speed = bar.tasks[task].speed or 0.0
            bar.update(task, advance=1, read=decimal(read[0]), rate=f"{speed:,.1f} files/s")

        yield advance


def _print_report(report: ImportReport, as_json: bool) -> None:
    if as_json:
        print_json(report.to_dict())
        return
    rate = report.imported / report.seconds if report.seconds else 0.0
    note(
        f"{report.found:,} files: {report.imported:,} imported ({report.reused:,} of them duplicates or "
        f"done by an earlier run), {report.already_recorded:,} recorded before, {len(report.refused):,} "
        f"refused, {len(report.failed):,} failed, in {report.seconds:.1f} s ({rate:,.1f} files/s)"
    )
    for slug, key in sorted(report.tenants_created.items()):
        note(f"created tenant {slug}; its API key (shown only now): {key}")
    for problem in sorted(report.refused, key=lambda p: p.path):
        note(f"{problem.path} ({problem.code}): {problem.message}", "yellow", "refused")
    for problem in sorted(report.failed, key=lambda p: p.path):
        note(f"{problem.path} ({problem.code}): {problem.message}", "red", "failed")
    if report.failed:
        note("failed files were not recorded: run the same command again to retry them")
