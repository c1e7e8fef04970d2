"""The ``picstore`` Typer app, its shared options, and how a command opens the store.

Where the data lives: settings name it (``PICSTORE_STORAGE``, ``PICSTORE_DATABASE``, ``.env``, ``--config``);
with none, it is ``./picstore-data`` under the working directory, as for :class:`~picstore.ImageStore`.
Because that default depends on where the command runs, the CLI never uses it silently:

- only ``serve``, ``tenant create`` and ``db upgrade`` may start a new store there, and they say so, with
  the absolute path, on stderr;
- every other command refuses with ``store_not_found`` when the default location holds no store, naming
  the directory it looked in, instead of answering from an empty store.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from picstore import __version__
from picstore.cli.command import App
from picstore.cli.console import err, line, note, out, print_json, progress, progress_bar
from picstore.errors import PicstoreError, StoreNotFound
from picstore.settings import DEFAULT_DATA_DIR, Settings, load_settings
from picstore.store import ImageStore

__all__ = [
    "ConfigOpt",
    "JsonOpt",
    "State",
    "TenantOpt",
    "app",
    "db_app",
    "err",
    "fail",
    "main",
    "open_store",
    "out",
    "print_json",
    "progress",
    "progress_bar",
    "s3_app",
    "settings",
    "tenant_app",
]

app = App(
    name="picstore",
    help="Store, clean and serve the pictures your application's customers upload.\n\n"
    "Configuration comes from PICSTORE_* environment variables, a .env file in the current directory, "
    "or a TOML file given with --config. With none, the data lives in ./picstore-data under the current "
    "directory (blobs in picstore-data/blobs, the catalog in picstore-data/picstore.db); `picstore doctor` "
    "shows which settings are in effect and where they came from.\n\n"
    "Every command that prints data has --json. Every failure exits 1; with --json it prints "
    '{"code": ..., "message": ...} on stdout.',
)
tenant_app = App(help="Create and list tenants (the customers whose pictures you store).")
db_app = App(help="Manage the catalog database schema.")
s3_app = App(help="Prepare an S3 bucket for picstore (when PICSTORE_STORAGE is s3://...).")
app.add_typer(tenant_app, name="tenant")
app.add_typer(db_app, name="db")
app.add_typer(s3_app, name="s3")

ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        metavar="FILE",
        help="TOML settings file (keys as in PICSTORE_*, lowercase).",
        envvar="PICSTORE_CONFIG",
        exists=True,
        dir_okay=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
TenantOpt = Annotated[str, typer.Option("--tenant", "-t", metavar="SLUG", help="Tenant slug.")]


class State:
    config: Path | None = None


def _version(value: bool) -> None:
    if value:
        line(f"picstore {__version__}")
        raise typer.Exit(0)


@app.callback()
def _main(
    config: ConfigOpt = None,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    State.config = config


def settings(**overrides: Any) -> Settings:
    """The settings in effect for this command (``--config``, environment, ``.env``, defaults)."""
    return load_settings(State.config, **overrides)


def default_paths(s: Settings) -> list[Path]:
    """The parts of the store that come from the default data directory (none when both are configured)."""
    paths = []
    if not s.storage:
        paths.append((DEFAULT_DATA_DIR / "blobs").resolve())
    if not s.database:
        paths.append((DEFAULT_DATA_DIR / "picstore.db").resolve())
    return paths


def check_default_store(s: Settings, create: bool) -> bool:
    """Whether a new store is about to be made in the default data directory; refused unless ``create``."""
    if all(p.exists() for p in default_paths(s)):
        return False
    if create:
        return True
    raise StoreNotFound(
        f"no picstore store here: {DEFAULT_DATA_DIR.resolve()} does not exist. Run picstore from the "
        f"directory that holds {DEFAULT_DATA_DIR}, point PICSTORE_STORAGE and PICSTORE_DATABASE (or "
        "--config) at your store, or start a new one here with `picstore tenant create`"
    )


def announce_new_store() -> None:
    """Say, on stderr, that a new store was made in the default data directory, and where."""
    note(
        f"new store in {DEFAULT_DATA_DIR.resolve()} (the default, ./{DEFAULT_DATA_DIR} under the working "
        "directory; set PICSTORE_STORAGE and PICSTORE_DATABASE to keep it elsewhere)"
    )


def fail(error: PicstoreError, as_json: bool = False, code: int = 1) -> NoReturn:
    """Stop the command with ``error``: the root command prints it (JSON when --json was given) and exits 1.

    ``as_json`` and ``code`` are accepted for the callers that still pass them: every failure exits 1.
    """
    raise error


@contextmanager
def open_store(as_json: bool = False, *, create: bool = False, **overrides: Any) -> Iterator[ImageStore]:
    """The ImageStore for one command; see the module docstring for when it may be a new one.

    Errors raised inside are printed by the root command (:mod:`picstore.cli.command`), as JSON when
    ``--json`` is on the command line; ``as_json`` is accepted for the callers that still pass it.
    """
    s = settings(**overrides)
    new = check_default_store(s, create)
    store = ImageStore.from_settings(s)
    if new:
        announce_new_store()
    try:
        yield store
    finally:
        store.close()


def main() -> None:
    """Console entry point (also of ``python -m picstore``, which should not call itself ``python -m``)."""
    app(prog_name="picstore")
