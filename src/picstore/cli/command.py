"""The Typer/Click classes behind every ``picstore`` command: help layout and the one error exit.

Invariants:

- Every failure exits 1: a refusal (any :class:`~picstore.errors.PicstoreError`) and a usage mistake
  (unknown option, missing argument, a file that does not exist) alike. With ``--json`` on the command
  line it is printed as ``{"code", "message"}`` on stdout, else as one ``error (code): message`` line on
  stderr; never a box, never a traceback. Usage mistakes have the code ``usage_error``.
- Help is plain text, re-flowed to the width (a docstring's line breaks are not kept inside a paragraph),
  with Click's conventions: ``Usage: picstore put [OPTIONS] FILE``, ``--tenant TENANT``, and no type
  placeholder such as ``<bool>`` or ``<str>``.

New commands get all of this by being registered on :class:`App` instances (``app.command()``, or a
sub-app made with ``App(help=...)`` and ``app.add_typer``); a plain ``typer.Typer`` would not.

Typer vendors Click as ``typer._click`` (0.29 and later); its classes are used here only for types and
for the exceptions Click raises while parsing.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Sequence
from typing import Any

import typer
from typer import _click
from typer.core import TyperCommand, TyperGroup

from picstore.cli.console import line, show_error
from picstore.errors import PicstoreError, UsageError

_PLACEHOLDER = re.compile(r" <[^>]*>(\.\.\.)?$")


def _argument_name(param: _click.core.Parameter) -> str:
    name = (param.metavar or param.name or "arg").upper()
    return f"{name}..." if param.nargs != 1 else name


def _usage_pieces(command: _click.core.Command, ctx: _click.Context) -> list[str]:
    pieces = [command.options_metavar] if command.options_metavar else []
    for param in command.get_params(ctx):
        if param.param_type_name == "argument":
            name = _argument_name(param)
            pieces.append(name if param.required else f"[{name}]")
        else:
            pieces.extend(param.get_usage_pieces(ctx))
    return pieces


def _help_records(command: _click.core.Command, ctx: _click.Context) -> tuple[list[Any], list[Any]]:
    arguments: list[tuple[str, str]] = []
    options: list[tuple[str, str]] = []
    for param in command.get_params(ctx):
        record = param.get_help_record(ctx)
        if record is None:
            continue
        names, text = record
        if param.param_type_name == "argument":
            arguments.append((_argument_name(param), text))
        else:
            # "--tenant <str>" -> "--tenant TENANT" (an explicit metavar is kept as it is).
            metavar = (param.name or "value").upper()
            options.append((_PLACEHOLDER.sub(f" {metavar}", names), text))
    return arguments, options


def _format_options(
    command: _click.core.Command, ctx: _click.Context, formatter: _click.HelpFormatter
) -> None:
    arguments, options = _help_records(command, ctx)
    for title, rows in (("Arguments", arguments), ("Options", options)):
        if rows:
            with formatter.section(title):
                formatter.write_dl(rows)


class Command(TyperCommand):
    """A ``picstore`` command: Click-style usage line and option names in help."""

    def collect_usage_pieces(self, ctx: _click.Context) -> list[str]:
        return _usage_pieces(self, ctx)

    def format_options(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        _format_options(self, ctx, formatter)


class Group(TyperGroup):
    """A group of commands (``picstore``, ``picstore tenant``); the root's ``main`` is the error exit."""

    def format_options(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        _format_options(self, ctx, formatter)
        self.format_commands(ctx, formatter)

    def format_commands(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        # Click cuts each command's summary to the width, mid-sentence ("Check, clean and store an
        # image;..."); the whole first sentence, wrapped, reads better.
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit=1000)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        as_json = "--json" in (argv[: argv.index("--")] if "--" in argv else argv)
        try:
            code = super().main(argv, prog_name, complete_var, False, windows_expand_args, **extra)
        except _click.exceptions.NoArgsIsHelpError as exc:
            line(exc.format_message())
            code = 0
        except _click.exceptions.ClickException as exc:
            ctx = getattr(exc, "ctx", None)
            hint = f" (see {ctx.command_path} --help)" if ctx is not None else ""
            show_error(UsageError(f"{exc.format_message()}{hint}"), as_json)
            code = 1
        except PicstoreError as exc:
            show_error(exc, as_json)
            code = 1
        except typer.Abort:
            show_error(UsageError("aborted"), as_json)
            code = 1
        code = code if isinstance(code, int) else 0
        if standalone_mode:
            sys.exit(code)
        return code


class App(typer.Typer):
    """``typer.Typer`` whose commands and groups use :class:`Command` and :class:`Group`, with plain help."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("cls", Group)
        kwargs.setdefault("no_args_is_help", True)
        super().__init__(
            rich_markup_mode=None, add_completion=False, pretty_exceptions_enable=False, **kwargs
        )

    def command(self, name: str | None = None, **kwargs: Any) -> Callable[[Any], Any]:
        kwargs.setdefault("cls", Command)
        return super().command(name, **kwargs)
