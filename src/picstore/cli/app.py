"""The ``picstore`` Typer app, its options and the helpers every command shares."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import Progress

from picstore.errors import PicstoreError
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


class State:
    config: Path | None = None


@app.callback()
def _main(config: ConfigOpt = None) -> None:
    State.config = config


def settings(**overrides: Any) -> Settings:
    return load_settings(State.config, **overrides)


def fail(error: PicstoreError, as_json: bool, code: int = 1) -> NoReturn:
    if as_json:
        print(json.dumps(error.to_dict()))
    else:
        err.print(f"[red]error[/red] ({error.code}): {error.message}")
    raise typer.Exit(code)


@contextmanager
def open_store(as_json: bool = False, **overrides: Any) -> Iterator[ImageStore]:
    """An ImageStore for one command; picstore errors become a clean message and exit code 1."""
    try:
        store = ImageStore.from_settings(settings(**overrides))
    except PicstoreError as exc:
        fail(exc, as_json)
    try:
        yield store
    except PicstoreError as exc:
        fail(exc, as_json)
    finally:
        store.close()


def print_json(data: Any) -> None:
    print(json.dumps(data, default=str))


def progress(items: list[Path], label: str, enabled: bool) -> Iterator[Path]:
    if not enabled:
        yield from items
        return
    with Progress(console=err, transient=True) as bar:
        task = bar.add_task(label, total=len(items))
        for item in items:
            yield item
            bar.advance(task)


@contextmanager
def progress_bar(enabled: bool, label: str) -> Iterator[Callable[[object], None]]:
    """A progress bar whose total is unknown up front; yields the function that advances it."""
    if not enabled:
        yield lambda _item: None
        return
    with Progress(console=err, transient=True) as bar:
        task = bar.add_task(label, total=None)
        yield lambda _item: bar.advance(task)


def main() -> None:
    """Console entry point."""
    run: Callable[[], Any] = app
    run()
