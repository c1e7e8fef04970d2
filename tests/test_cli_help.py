"""Every command's --help, read as a person with a 40-column terminal piping it through `less` would."""

from __future__ import annotations

import itertools
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_run import child_env, picstore

#: Click never wraps help narrower than this, whatever COLUMNS says.
HELP_WIDTH = 50

# One child process prints every help page (walking the command tree, so new commands are covered),
# each through the root command's real entry point, with stdout a pipe and COLUMNS=40.
_DRIVER = """
from typer.main import get_command
from picstore.cli import app
root = get_command(app)
def walk(cmd, path):
    yield path
    for name in sorted(getattr(cmd, "commands", {})):
        yield from walk(cmd.commands[name], [*path, name])
for path in walk(root, []):
    print("\\x00" + " ".join(path), flush=True)
    code = root.main([*path, "--help"], "picstore", standalone_mode=False)
    print(f"\\x00exit {code}", flush=True)
"""


def _help_pages() -> dict[str, tuple[int, str]]:
    proc = subprocess.run(
        [sys.executable, "-c", _DRIVER], env=child_env(), capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    pages: dict[str, tuple[int, str]] = {}
    chunks = proc.stdout.split("\x00")[1:]
    for head, tail in zip(chunks[::2], chunks[1::2], strict=True):
        name, _, text = head.partition("\n")
        pages[name] = (int(tail.split()[1]), text)
    return pages


PAGES = _help_pages()


def test_the_walk_found_every_command() -> None:
    assert {"", "put", "get", "ls", "rm", "serve", "migrate", "tenant create", "doctor"} <= set(PAGES)


@pytest.mark.parametrize("command", sorted(PAGES), ids=lambda c: c or "picstore")
def test_help_page(command: str) -> None:
    code, text = PAGES[command]
    assert code == 0
    lines = text.splitlines()
    usage = lines[0]
    assert usage.startswith(f"Usage: picstore {command}".rstrip() + " ")
    # Click's conventions: FILE, [ID], FILES...; never Typer's {file} or a <type> placeholder.
    assert "{" not in usage and "<" not in usage
    for piece in usage.split()[2 + len(command.split()) :]:
        assert re.fullmatch(r"\[?[A-Z][A-Z_]*\]?(\.\.\.)?", piece), f"usage piece {piece!r} in {usage!r}"
    assert not re.search(r"<\w[\w ]*>", text), f"a type placeholder in:\n{text}"
    assert "│" not in text and "╭" not in text, "help is plain text, not boxes"
    for line in lines:
        if line.lstrip().startswith("-") and "--help" not in line:
            # Every option says what it is for (its help is on its line or the next).
            assert len(line.split("  ")) > 1 or line.rstrip().endswith(("/", ",")), line
    _assert_paragraphs_reflowed(lines)


#: Commands that print no data: serve runs until stopped (and logs), groups only list their commands.
NO_DATA = {"serve"}


def test_every_command_that_prints_data_has_json() -> None:
    leaves = [c for c in PAGES if c and "Commands:" not in PAGES[c][1].splitlines()]
    assert len(leaves) >= 12
    missing = [c for c in leaves if c not in NO_DATA and "  --json " not in PAGES[c][1]]
    assert missing == []


def _assert_paragraphs_reflowed(lines: list[str]) -> None:
    """The description is filled to the width: no line ends while the next word would still fit.

    A help text that keeps its docstring's line breaks ("...copies nothing. The source is not" /
    "modified. Set PICSTORE_STORAGE...") fails this.
    """
    end = next((i for i, line in enumerate(lines) if line.endswith(":") and not line.startswith(" ")), None)
    description = lines[1:end]
    for current, following in itertools.pairwise(description):
        if current.strip() and following.strip():
            next_word = following.split()[0]
            assert len(current) + 1 + len(next_word) > HELP_WIDTH, f"broken line: {current!r} / {following!r}"


def test_version(tmp_path: Path) -> None:
    from picstore import __version__

    result = picstore("--version", cwd=tmp_path)
    assert result.code == 0
    assert result.lines == [f"picstore {__version__}"]


def test_no_arguments_prints_the_help(tmp_path: Path) -> None:
    result = picstore(cwd=tmp_path)
    assert result.code == 0
    assert result.lines[0].startswith("Usage: picstore [OPTIONS] COMMAND")
    assert "Commands:" in result.lines
