"""Commands on tenants and images: tenant, put, get, ls, rm, validate."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from picstore.cli.app import (
    JsonOpt,
    TenantOpt,
    app,
    err,
    fail,
    open_store,
    out,
    print_json,
    progress,
    settings,
    tenant_app,
)
from picstore.errors import ImageRejected, PicstoreError


@tenant_app.command("create")
def tenant_create(
    slug: Annotated[str, typer.Argument(help="Short id: lowercase letters, digits, - and _.")],
    name: Annotated[str | None, typer.Option(help="Display name (default: the slug).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a tenant and print its API key (shown only this once)."""
    with open_store(as_json) as store:
        tenant, api_key = store.create_tenant(slug, name)
    if as_json:
        print_json({"tenant": tenant.slug, "name": tenant.name, "api_key": api_key})
    else:
        out.print(
            f"tenant [bold]{tenant.slug}[/bold] created; its API key (store it now, it is not shown again):"
        )
        print(api_key)


@tenant_app.command("list")
def tenant_list(as_json: JsonOpt = False) -> None:
    """List tenants."""
    with open_store(as_json) as store:
        tenants = store.tenants()
    if as_json:
        print_json(
            [{"tenant": t.slug, "name": t.name, "created_at": t.created_at.isoformat()} for t in tenants]
        )
        return
    table = Table("tenant", "name", "created")
    for t in tenants:
        table.add_row(t.slug, t.name, t.created_at.isoformat(timespec="seconds"))
    out.print(table)


@tenant_app.command("link")
def tenant_link(
    slug: Annotated[str, typer.Argument(help="The tenant to sign in.")],
    ttl: Annotated[str, typer.Option(help="How long the link works: 90s, 15m, 2h, 7d.")] = "15m",
    as_json: JsonOpt = False,
) -> None:
    """Print a one-time sign-in link to the tenant's dashboard (the URL alone), for a customer your
    application has already authenticated. It works once, within --ttl."""
    with open_store(as_json) as store:
        link = store.signin_link(slug, ttl=ttl)
    if as_json:
        print_json({"tenant": slug, "url": link})
    else:
        print(link)


@app.command()
def put(
    file: Annotated[Path, typer.Argument(help="Image file to store.", exists=True, dir_okay=False)],
    tenant: TenantOpt,
    alt: Annotated[str | None, typer.Option(help="Alternative text for the image.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Check, clean and store an image; print it (with its URLs) or the reason it was refused."""
    with open_store(as_json) as store:
        image = store.put(file, tenant, filename=file.name, alt=alt)
        described = store.describe(image)
    if as_json:
        print_json(described)
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
    with open_store() as store:
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
    with open_store(as_json) as store:
        page = store.list(tenant, limit=limit, cursor=cursor)
        urls = store.urls(page.items) if as_json else {}
        items = [store.describe(i, urls[i.id]) for i in page.items] if as_json else []
    if as_json:
        print_json({"items": items, "next_cursor": page.next_cursor})
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
    with open_store() as store:
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

    try:
        options = IngestOptions.from_settings(settings())
    except PicstoreError as exc:
        fail(exc, as_json)
    refused = 0
    for file in progress(files, "validating", enabled=not as_json and len(files) > 1):
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
            print_json(row)
        elif row["accepted"]:
            out.print(f"[green]ok[/green]      {file}: {row['format']} {row['width']}x{row['height']}")
        else:
            out.print(f"[red]refused[/red] {file}: {row['code']}: {row['message']}")
    raise typer.Exit(1 if refused else 0)
