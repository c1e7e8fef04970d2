"""Operating commands: serve, gc, migrate, verify, db, s3."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

import typer

from picstore.cli.app import (
    JsonOpt,
    announce_new_store,
    app,
    check_default_store,
    db_app,
    open_store,
    s3_app,
    settings,
)
from picstore.cli.console import note, print_json, progress_bar
from picstore.errors import ConfigError


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(metavar="ADDRESS", help="Address to bind (default 127.0.0.1).")
    ] = None,
    port: Annotated[
        int | None, typer.Option(metavar="PORT", help="Port to listen on (default 8080).")
    ] = None,
) -> None:
    """Run the HTTP service: API, blob serving and health checks.

    It also serves the URLs that store.url() hands out for blobs on local disk (/b/...), so an application
    using a file:// store needs this running (or mounted, or nginx serving the blob directory).
    """
    from picstore.web.app import run

    overrides: dict[str, Any] = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    with open_store(create=True, **overrides) as store:
        s = store.settings
        note(f"picstore serving {s.storage_url} (catalog {redact(s.database_url)})")
        note(f"listening on http://{s.host}:{s.port}  (Ctrl+C to stop)")
        run(store, s.host, s.port)


def redact(url: str) -> str:
    """A database URL with its password masked."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # a malformed URL: the catalog reports it; show nothing that could be a secret
        return url.split("@", 1)[-1] if "@" in url else url


@app.command()
def gc(
    grace: Annotated[
        float, typer.Option(metavar="SECONDS", help="Seconds a blob must have been unused.")
    ] = 3600,
    as_json: JsonOpt = False,
) -> None:
    """Delete blobs no image has used for the grace period."""
    with open_store() as store:
        removed = store.gc(grace)
    if as_json:
        print_json({"removed": removed})
    else:
        note(f"removed {len(removed)} unused blob(s)")


@app.command()
def migrate(
    to: Annotated[
        str, typer.Option("--to", metavar="URL", help="Target blob store URL, e.g. s3://bucket/prefix.")
    ],
    workers: Annotated[int, typer.Option(metavar="N", help="Blobs copied in parallel.", min=1, max=128)] = 8,
    as_json: JsonOpt = False,
) -> None:
    """Copy every blob to another store, verify each copy (size and SHA-256), then point the catalog at it.

    Safe to stop and run again: it resumes, and a finished migration copies nothing. The source is not
    modified. Set PICSTORE_STORAGE to the target first so new uploads go there while this runs.
    """
    from picstore.ops.migrate import migrate as run_migration

    with open_store() as store, progress_bar(not as_json, "migrating") as advance:
        report = run_migration(store, to, workers=workers, progress=advance)
    summary = {
        "target": report.target,
        "total": report.total,
        "copied": report.copied,
        "already_there": report.already_there,
        "bytes_copied": report.bytes_copied,
        "failed": report.failed,
    }
    if as_json:
        print_json(summary)
    else:
        note(
            f"{report.copied} copied ({report.bytes_copied:,} bytes), {report.already_there} already there, "
            f"{len(report.failed)} failed, of {report.total} blobs not yet in {report.target}"
        )
        for key, why in sorted(report.failed.items()):
            note(f"{key}: {why}", "red", "failed")
        if report.failed:
            note("run the same command again to retry the failed blobs")
    raise typer.Exit(0 if report.ok else 1)


@app.command()
def verify(
    quick: Annotated[bool, typer.Option(help="Check sizes only (HEAD), not SHA-256 of the bytes.")] = False,
    workers: Annotated[int, typer.Option(metavar="N", help="Blobs checked in parallel.", min=1, max=128)] = 8,
    as_json: JsonOpt = False,
) -> None:
    """Check that every blob the catalog knows is where it says, with the recorded size and SHA-256.

    Exits 0 when all are, 1 when any blob is missing or damaged.
    """
    from picstore.ops.verify import verify as run_verify

    with open_store() as store, progress_bar(not as_json, "verifying") as advance:
        report = run_verify(store, full=not quick, workers=workers, progress=advance)
    if as_json:
        print_json({"checked": report.checked, "missing": report.missing, "damaged": report.damaged})
    else:
        note(f"{report.checked} checked, {len(report.missing)} missing, {len(report.damaged)} damaged")
        for key in report.missing:
            note(key, "red", "missing")
        for key in report.damaged:
            note(key, "red", "damaged")
    raise typer.Exit(0 if report.ok else 1)


@db_app.command("upgrade")
def db_upgrade(as_json: JsonOpt = False) -> None:
    """Apply pending catalog migrations (also done on every start)."""
    from picstore.catalog.engine import create_catalog_engine, current_revision, upgrade

    s = settings()
    new = not s.database and check_default_store(s, create=True)
    engine = create_catalog_engine(s.database_url)
    try:
        upgrade(engine)
        revision = current_revision(engine)
    finally:
        engine.dispose()
    if new:
        announce_new_store()
    if as_json:
        print_json({"database": redact(s.database_url), "revision": revision})
    else:
        note(f"catalog at revision {revision}")


@s3_app.command("setup")
def s3_setup(
    public: Annotated[
        bool | None,
        typer.Option(
            "--public/--private",
            help="Let anonymous clients read stored images (default: public unless s3_presign is set).",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create the bucket if it is missing and apply a public-read bucket policy to the stored images."""
    from picstore.blobs.base import BucketSetup

    url = settings().storage_url
    if urlsplit(url).scheme != "s3":
        raise ConfigError(f"the store is {url}: set PICSTORE_STORAGE=s3://bucket/prefix")
    with open_store() as store:
        if not isinstance(store.blobs, BucketSetup):
            raise ConfigError(f"the store is {store.blobs.url}: set PICSTORE_STORAGE=s3://bucket/prefix")
        result = store.blobs.setup_bucket(public=public)
    if as_json:
        print_json({"bucket": result.bucket, "created": result.created, "public_read": result.public_read})
    else:
        state = "created" if result.created else "exists"
        access = "public-read policy applied" if result.public_read else "private (presigned URLs)"
        note(f"bucket {result.bucket}: {state}; {access}")
