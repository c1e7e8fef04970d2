"""``picstore doctor``: print what :func:`picstore.ops.doctor.diagnose` found."""

from __future__ import annotations

import json

import typer
from rich.text import Text

from picstore import __version__
from picstore.cli.app import JsonOpt, State, app
from picstore.cli.console import line, out, print_json
from picstore.ops.doctor import diagnose

_MARK = {"ok": ("ok", "green"), "warn": ("warning", "yellow"), "fail": ("FAILED", "bold red")}


def _shown(value: object) -> str:
    if value is None:
        return "(unset)"
    return json.dumps(value) if isinstance(value, dict | list) else str(value)


@app.command()
def doctor(as_json: JsonOpt = False) -> None:
    """Show the settings in effect and where each came from, where the data lives, and whether the catalog
    and the blob store answer, with what to fix. Changes nothing.

    Exits 1 when something is broken (a warning alone exits 0). Secrets are masked.
    """
    diagnosis = diagnose(State.config)
    if as_json:
        print_json({"version": __version__, **diagnosis.to_dict()})
        raise typer.Exit(0 if diagnosis.ok else 1)
    line(f"picstore {__version__}")
    if diagnosis.settings:
        line("settings (value, then where it came from; environment > .env > --config file > default):")
        for s in diagnosis.settings:
            line(f"  {s.name} = {_shown(s.value)}  [{s.source}]")
    if diagnosis.data:
        line("data:")
        for name, value in diagnosis.data.items():
            line(f"  {name}: {value}")
    line("checks:")
    for check in diagnosis.checks:
        label, style = _MARK[check.status]
        fix = f" -> {check.fix}" if check.fix else ""
        out.print(Text.assemble("  ", (label, style), f": {check.name}: {check.detail}{fix}"))
    line("all good" if diagnosis.ok else "something is broken: see FAILED above")
    raise typer.Exit(0 if diagnosis.ok else 1)
