"""Commands on tenants and images: tenant, put, get, ls, rm, validate."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from picstore.cli.app import JsonOpt, TenantOpt, app, open_store, settings, tenant_app
from picstore.cli.console import line, note, print_json, progress, table
from picstore.errors import ImageRejected, UsageError

IdArg = Annotated[str, typer.Argument(metavar="ID", help="Image id (as printed by put and ls).")]


@tenant_app.command("create")
def tenant_create(
    slug: Annotated[str, typer.Argument(help="Short id: lowercase letters, digits, - and _.")],
    name: Annotated[str | None, typer.Option(help="Display name (default: the slug).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a tenant and print its API key (shown only this once)."""
    with open_store(create=True) as store:
        tenant, api_key = store.create_tenant(slug, name)
    if as_json:
        print_json({"tenant": tenant.slug, "name": tenant.name, "api_key": api_key})
    else:
        note(f"tenant {tenant.slug} created; its API key (store it now, it is not shown again):")
        line(api_key)


@tenant_app.command("list")
def tenant_list(as_json: JsonOpt = False) -> None:
    """List tenants.

    Piped, prints one tab-separated line per tenant: slug, name, created.
    """
    with open_store() as store:
        tenants = store.tenants()
    if as_json:
        print_json(
            [{"tenant": t.slug, "name": t.name, "created_at": t.created_at.isoformat()} for t in tenants]
        )
        return
    table(
        ("tenant", "name", "created"),
        [(t.slug, t.name, t.created_at.isoformat(timespec="seconds")) for t in tenants],
    )


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
    file: Annotated[
        Path, typer.Argument(metavar="FILE", help="Image file to store.", exists=True, dir_okay=False)
    ],
    tenant: TenantOpt,
    alt: Annotated[str | None, typer.Option(help="Alternative text for the image.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Check, clean and store an image; print it (with its URLs) or the reason it was refused.

    Prints one line: id, format, size and URL, separated by spaces (--json: the image with every
    variant's URL).
    """
    with open_store() as store:
        image = store.put(file, tenant, filename=file.name, alt=alt)
        described = store.describe(image)
    if as_json:
        print_json(described)
    else:
        line(f"{image.id} {image.format} {image.width}x{image.height} {described['url']}")


@app.command()
def get(
    image_id: IdArg,
    output: Annotated[
        Path, typer.Option("-o", "--output", metavar="FILE", help="File to write ('-' for stdout).")
    ],
    variant: Annotated[
        str | None, typer.Option(metavar="NAME", help="Variant name, e.g. thumb, card, large.")
    ] = None,
    fmt: Annotated[
        str | None, typer.Option("--format", metavar="FORMAT", help="Variant format: jpeg or webp.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Write an image's stored master, or one of its variants, to a file."""
    to_stdout = str(output) == "-"
    if to_stdout and as_json:
        raise UsageError("--json and -o - both want stdout: write to a file, or leave out --json")
    with open_store() as store:
        data = store.read(image_id, variant, fmt)
    if to_stdout:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    try:
        output.write_bytes(data)
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from exc
    if as_json:
        print_json(
            {"id": image_id, "variant": variant, "format": fmt, "bytes": len(data), "file": str(output)}
        )
    else:
        note(f"wrote {len(data):,} bytes to {output}")


@app.command("ls")
def list_images(
    tenant: TenantOpt,
    limit: Annotated[int, typer.Option(metavar="N", help="Images per page.", min=1, max=1000)] = 50,
    cursor: Annotated[
        str | None, typer.Option(metavar="CURSOR", help="next_cursor of the previous page.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """List a tenant's images, newest first.

    Piped, prints one tab-separated line per image: id, format, size, bytes, filename, created. When there
    are more, the command for the next page is printed on stderr.
    """
    with open_store() as store:
        page = store.list(tenant, limit=limit, cursor=cursor)
        urls = store.urls(page.items) if as_json else {}
        items = [store.describe(i, urls[i.id]) for i in page.items] if as_json else []
    if as_json:
        print_json({"items": items, "next_cursor": page.next_cursor})
        return
    table(
        ("id", "format", "size", "bytes", "filename", "created"),
        [
            (
                i.id,
                i.format,
                f"{i.width}x{i.height}",
                i.bytes,
                i.filename or "",
                i.created_at.isoformat(timespec="seconds"),
            )
            for i in page.items
        ],
    )
    if page.next_cursor:
        note(f"more: picstore ls --tenant {tenant} --cursor {page.next_cursor}")


@app.command("rm")
def remove(image_id: IdArg, as_json: JsonOpt = False) -> None:
    """Delete an image (its unused blobs are removed by `picstore gc` after a grace period)."""
    with open_store() as store:
        store.delete(image_id)
    if as_json:
        print_json({"deleted": image_id})
    else:
        note(f"deleted {image_id}")


@app.command()
def validate(
    files: Annotated[
        list[Path], typer.Argument(metavar="FILES", help="Files to check.", exists=True, dir_okay=False)
    ],
    as_json: JsonOpt = False,
) -> None:
    """Check files the way an upload is checked, without storing anything.

    Prints one tab-separated line per file: ok or refused, the file, then format and size or the reason
    (--json: one JSON object per line). Exits 0 when every file is accepted, 1 otherwise.
    """
    from picstore.ingest import IngestOptions, probe

    options = IngestOptions.from_settings(settings())
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
            line(f"ok\t{file}\t{row['format']} {row['width']}x{row['height']}")
        else:
            line(f"refused\t{file}\t{row['code']}: {row['message']}")
    raise typer.Exit(1 if refused else 0)
