"""The ``picstore`` command: argument parsing and printing only; the work is in store, ops and web."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from picstore.errors import ConfigError, ImageRejected, PicstoreError
from picstore.settings import Settings, load_settings
from picstore.store import ImageStore

app = typer.Typer(
    name="picstore",
    help="Store, clean and serve the pictures your application's customers upload.\n\n"
    "Configuration comes from PICSTORE_* environment variables, a .env file in the current directory, "
    "or a TOML file given with --config. With none, blobs go under ./picstore-data/blobs and the "
    "catalog is ./picstore-data/picstore.db.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
tenant_app = typer.Typer(help="Create and list tenants (the customers whose pictures you store).")
db_app = typer.Typer(help="Manage the catalog database schema.")
s3_app = typer.Typer(help="Prepare an S3 bucket for picstore (when PICSTORE_STORAGE is s3://...).")
app.add_typer(tenant_app, name="tenant")
app.add_typer(db_app, name="db")
app.add_typer(s3_app, name="s3")

out = Console()
err = Console(stderr=True)

ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="TOML settings file (keys as in PICSTORE_*, lowercase).",
        envvar="PICSTORE_CONFIG",
        exists=True,
        dir_okay=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
TenantOpt = Annotated[str, typer.Option("--tenant", "-t", help="Tenant slug.")]


class _State:
    config: Path | None = None


@app.callback()
def _main(config: ConfigOpt = None) -> None:
    _State.config = config


def _settings(**overrides: Any) -> Settings:
    return load_settings(_State.config, **overrides)


def _fail(error: PicstoreError, as_json: bool, code: int = 1) -> NoReturn:
    if as_json:
        print(json.dumps(error.to_dict()))
    else:
        err.print(f"[red]error[/red] ({error.code}): {error.message}")
    raise typer.Exit(code)


@contextmanager
def _store(as_json: bool = False, **overrides: Any) -> Iterator[ImageStore]:
    """An ImageStore for one command; picstore errors become a clean message and exit code 1."""
    try:
        store = ImageStore.from_settings(_settings(**overrides))
    except PicstoreError as exc:
        _fail(exc, as_json)
    try:
        yield store
    except PicstoreError as exc:
        _fail(exc, as_json)
    finally:
        store.close()


def _print_json(data: Any) -> None:
    print(json.dumps(data, default=str))


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (default 8080).")] = None,
) -> None:
    """Run the HTTP service: API, blob serving and health checks."""
    from picstore.web.app import run

    overrides: dict[str, Any] = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    with _store(False, **overrides) as store:
        s = store.settings
        err.print(f"picstore serving {s.storage_url} (catalog {_redact(s.database_url)})")
        err.print(f"listening on http://{s.host}:{s.port}  (Ctrl+C to stop)")
        run(store, s.host, s.port)


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@tenant_app.command("create")
def tenant_create(
    slug: Annotated[str, typer.Argument(help="Short id: lowercase letters, digits, - and _.")],
    name: Annotated[str | None, typer.Option(help="Display name (default: the slug).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a tenant and print its API key (shown only this once)."""
    with _store(as_json) as store:
        tenant, api_key = store.create_tenant(slug, name)
    if as_json:
        _print_json({"tenant": tenant.slug, "name": tenant.name, "api_key": api_key})
    else:
        out.print(
            f"tenant [bold]{tenant.slug}[/bold] created; its API key (store it now, it is not shown again):"
        )
        print(api_key)


@tenant_app.command("list")
def tenant_list(as_json: JsonOpt = False) -> None:
    """List tenants."""
    with _store(as_json) as store:
        tenants = store.tenants()
    if as_json:
        _print_json(
            [{"tenant": t.slug, "name": t.name, "created_at": t.created_at.isoformat()} for t in tenants]
        )
        return
    table = Table("tenant", "name", "created")
    for t in tenants:
        table.add_row(t.slug, t.name, t.created_at.isoformat(timespec="seconds"))
    out.print(table)


@app.command()
def put(
    file: Annotated[Path, typer.Argument(help="Image file to store.", exists=True, dir_okay=False)],
    tenant: TenantOpt,
    alt: Annotated[str | None, typer.Option(help="Alternative text for the image.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Check, clean and store an image; print it (with its URLs) or the reason it was refused."""
    with _store(as_json) as store:
        image = store.put(file, tenant, filename=file.name, alt=alt)
        described = store.describe(image)
    if as_json:
        _print_json(described)
    else:
        out.print(
            f"stored [bold]{image.id}[/bold] {image.format} {image.width}x{image.height} {described['url']}"
        )


@app.command()
def get(
    image_id: Annotated[str, typer.Argument(metavar="ID", help="Image id.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="File to write ('-' for stdout).")],
    variant: Annotated[str | None, typer.Option(help="Variant name, e.g. thumb, card, large.")] = None,
    fmt: Annotated[str | None, typer.Option("--format", help="Variant format: jpeg or webp.")] = None,
) -> None:
    """Write an image's stored master, or one of its variants, to a file."""
    with _store() as store:
        data = store.read(image_id, variant, fmt)
    if str(output) == "-":
        sys.stdout.buffer.write(data)
    else:
        output.write_bytes(data)
        err.print(f"wrote {len(data):,} bytes to {output}")


@app.command("ls")
def list_images(
    tenant: TenantOpt,
    limit: Annotated[int, typer.Option(help="Images per page.", min=1, max=1000)] = 50,
    cursor: Annotated[str | None, typer.Option(help="next_cursor of the previous page.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List a tenant's images, newest first."""
    with _store(as_json) as store:
        page = store.list(tenant, limit=limit, cursor=cursor)
        items = [store.describe(i) for i in page.items] if as_json else []
    if as_json:
        _print_json({"items": items, "next_cursor": page.next_cursor})
        return
    table = Table("id", "format", "size", "bytes", "filename", "created")
    for i in page.items:
        table.add_row(
            i.id,
            i.format,
            f"{i.width}x{i.height}",
            f"{i.bytes:,}",
            i.filename or "",
            i.created_at.isoformat(timespec="seconds"),
        )
    out.print(table)
    if page.next_cursor:
        out.print(f"more: picstore ls --tenant {tenant} --cursor {page.next_cursor}")


@app.command("rm")
def remove(image_id: Annotated[str, typer.Argument(metavar="ID", help="Image id.")]) -> None:
    """Delete an image (its unused blobs are removed by `picstore gc` after a grace period)."""
    with _store() as store:
        store.delete(image_id)
    err.print(f"deleted {image_id}")


@app.command()
def validate(
    files: Annotated[list[Path], typer.Argument(help="Files to check.", exists=True, dir_okay=False)],
    as_json: JsonOpt = False,
) -> None:
    """Check files the way an upload is checked, without storing anything.

    Prints one JSON object per file with --json. Exits 0 when every file is accepted, 1 otherwise.
    """
    from picstore.ingest import IngestOptions, probe

    s = _settings()
    options = IngestOptions(
        max_bytes=s.max_bytes,
        max_pixels=s.max_pixels,
        max_total_pixels=s.max_total_pixels,
        max_side=s.max_side,
    )
    refused = 0
    for file in _progress(files, "validating", enabled=not as_json and len(files) > 1):
        row: dict[str, Any] = {
            "file": str(file),
            "accepted": True,
            "code": None,
            "message": None,
            "format": None,
            "width": None,
            "height": None,
            "frames": None,
        }
        try:
            info = probe(file.read_bytes(), options)
            row.update(format=info.format, width=info.width, height=info.height, frames=info.frames)
        except ImageRejected as exc:
            refused += 1
            row.update(accepted=False, code=exc.code, message=exc.message)
        if as_json:
            _print_json(row)
        elif row["accepted"]:
            out.print(f"[green]ok[/green]      {file}: {row['format']} {row['width']}x{row['height']}")
        else:
            out.print(f"[red]refused[/red] {file}: {row['code']}: {row['message']}")
    raise typer.Exit(1 if refused else 0)


def _progress(items: list[Path], label: str, enabled: bool) -> Iterator[Path]:
    if not enabled:
        yield from items
        return
    with Progress(console=err, transient=True) as bar:
        task = bar.add_task(label, total=len(items))
        for item in items:
            yield item
            bar.advance(task)


@app.command()
def gc(
    grace: Annotated[float, typer.Option(help="Seconds a blob must have been unused.")] = 3600,
    as_json: JsonOpt = False,
) -> None:
    """Delete blobs no image has used for the grace period."""
    with _store(as_json) as store:
        removed = store.gc(grace)
    if as_json:
        _print_json({"removed": removed})
    else:
        err.print(f"removed {len(removed)} unused blob(s)")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending catalog migrations (also done on every start)."""
    from picstore.catalog.engine import create_catalog_engine, current_revision, upgrade

    try:
        engine = create_catalog_engine(_settings().database_url)
        upgrade(engine)
        err.print(f"catalog at revision {current_revision(engine)}")
    except PicstoreError as exc:
        _fail(exc, False)


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
    from picstore.blobs.s3 import S3Store
    from picstore.blobs.s3_policy import setup_bucket

    with _store(as_json) as store:
        if not isinstance(store.blobs, S3Store):
            _fail(
                ConfigError(f"the store is {store.blobs.url}: set PICSTORE_STORAGE=s3://bucket/prefix"),
                as_json,
            )
        result = setup_bucket(store.blobs, public=public)
    if as_json:
        _print_json({"bucket": result.bucket, "created": result.created, "public_read": result.public_read})
    else:
        state = "created" if result.created else "exists"
        access = "public-read policy applied" if result.public_read else "private (presigned URLs)"
        err.print(f"bucket {result.bucket}: {state}; {access}")


def main() -> None:
    """Console entry point."""
    run: Callable[[], Any] = app
    run()
