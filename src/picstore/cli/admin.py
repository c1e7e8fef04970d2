"""Operating commands: serve, gc, db, s3 (migrate and verify are in :mod:`picstore.cli.storage`)."""

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
from picstore.cli.console import note, print_json
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
        note(f"picstore serving {store.blobs.url} (catalog {redact(s.database_url)})")
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
    url: Annotated[
        str | None,
        typer.Argument(metavar="URL", help="s3://bucket/prefix (default: PICSTORE_STORAGE)."),
    ] = None,
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

    target = url or settings().storage_url
    if urlsplit(target).scheme != "s3":
        raise ConfigError(f"the store is {target}: give s3://bucket/prefix, or set PICSTORE_STORAGE to it")
    with open_store() as store:
        blobs = store.store_for(target)
        if not isinstance(blobs, BucketSetup):
            raise ConfigError(f"the store is {blobs.url}: give s3://bucket/prefix")
        result = blobs.setup_bucket(public=public)
    if as_json:
        print_json({"bucket": result.bucket, "created": result.created, "public_read": result.public_read})
    else:
        state = "created" if result.created else "exists"
        access = "public-read policy applied" if result.public_read else "private (presigned URLs)"
        note(f"bucket {result.bucket}: {state}; {access}")
