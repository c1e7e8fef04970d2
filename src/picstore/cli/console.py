"""How the ``picstore`` command prints: the one console setup every command uses.

Invariants:

- Data goes to stdout; messages (what was done, hints, progress, errors) go to stderr.
- Nothing is hard-wrapped: ids, URLs, cursors and messages are printed whole, each on one line, whatever
  ``COLUMNS`` or the terminal says (a terminal may fold a long line on screen; no newline is ever added).
- When stdout is not a terminal, tables are tab-separated lines with no header, box or colour, so that
  ``picstore ls --tenant acme | cut -f1`` gives ids that paste into ``get`` and ``rm``.
- Text that comes from users or from the outside (filenames, alt text, error messages) is never read as
  Rich markup.
- Progress bars are drawn only when stderr is a terminal.
- ``--json`` output is plain ``json.dumps``: one document (or one per line) on stdout, nothing else there.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from rich.text import Text

from picstore.errors import PicstoreError

#: Data (stdout). soft_wrap: Rich never inserts line breaks into what it prints.
out = Console(soft_wrap=True, highlight=False)
#: Messages (stderr), same rules.
err = Console(stderr=True, soft_wrap=True, highlight=False)

T = TypeVar("T")


def stdout_is_terminal() -> bool:
    """Whether a person reads stdout: tables for people, tab-separated lines for programs."""
    isatty = getattr(sys.stdout, "isatty", None)
    return bool(isatty and isatty())


def print_json(data: Any) -> None:
    """One JSON document on stdout."""
    print(json.dumps(data, default=str), flush=True)


def line(text: str) -> None:
    """One line of data on stdout, printed as it is."""
    print(text, flush=True)


def note(message: str, style: str | None = None, label: str | None = None) -> None:
    """One message line on stderr; ``label`` (e.g. ``failed``) is shown first, in ``style``."""
    text = Text.assemble((label, style or "")) + " " + message if label else Text(message, style=style or "")
    err.print(text)


def show_error(error: PicstoreError, as_json: bool) -> None:
    """A refusal: ``{"code", "message"}`` on stdout with --json, else ``error (code): message`` on stderr."""
    if as_json:
        print_json(error.to_dict())
    else:
        err.print(Text.assemble(("error", "bold red"), f" ({error.code}): {error.message}"))


def _cell(value: object) -> str:
    # A tab or newline inside a value would break the one-line-per-row, tab-separated layout.
    return " ".join(str(value).split()) if value is not None else ""


def table(columns: Sequence[str], rows: Iterable[Sequence[object]], whole: Sequence[int] = (0,)) -> None:
    """Rows of data: a Rich table on a terminal wide enough for it, tab-separated lines (no header) otherwise.

    The columns at the indexes in ``whole`` (ids) are never wrapped or shortened: a terminal too narrow
    for the table gets the lines too, rather than a table with its columns squeezed to nothing.
    """
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max((len(row[i]) for row in cells), default=0) for i in range(len(columns))]
    # A table's natural width: each column's widest cell, padded by one space a side, and the borders.
    natural = sum(max(w, len(c)) + 3 for w, c in zip(widths, columns, strict=True)) + 1
    if not stdout_is_terminal() or natural > out.width:
        for row in cells:
            line("\t".join(row))
        return
    grid = Table(*columns)
    for index in whole:
        grid.columns[index].no_wrap = True
        grid.columns[index].min_width = max(widths[index], len(columns[index]))
    for row in cells:
        grid.add_row(*(Text(cell) for cell in row))
    out.print(grid, soft_wrap=False)


def progress(items: Sequence[T], label: str, enabled: bool) -> Iterator[T]:
    """Iterate ``items`` with a progress bar on stderr when ``enabled`` and stderr is a terminal."""
    if not (enabled and err.is_terminal):
        yield from items
        return
    with Progress(console=err, transient=True) as bar:
        task = bar.add_task(label, total=len(items))
        for item in items:
            yield item
            bar.advance(task)


@contextmanager
def progress_bar(enabled: bool, label: str) -> Iterator[Callable[[object], None]]:
    """A progress bar whose total is unknown up front; yields the function that advances it.

    Only on a terminal: written to a pipe or a log, a bar is a stray blank line, not progress.
    """
    if not (enabled and err.is_terminal):
        yield lambda _item: None
        return
    with Progress(console=err, transient=True) as bar:
        task = bar.add_task(label, total=None)
        yield lambda _item: bar.advance(task)
