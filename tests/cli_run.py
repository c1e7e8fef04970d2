"""Run the real ``picstore`` command the way a script does: a child process, stdout piped, 40 columns."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Variables that would make the child's output depend on this machine rather than on the test.
_DROPPED_PREFIXES = ("PICSTORE_", "AWS_")
_DROPPED = {"FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "NO_COLOR", "TERMINAL_WIDTH", "LINES"}


@dataclass(frozen=True)
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)

    @property
    def lines(self) -> list[str]:
        return self.stdout.splitlines()

    @property
    def messages(self) -> list[str]:
        return self.stderr.splitlines()


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a child: this one without picstore/AWS settings, with COLUMNS=40."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_DROPPED_PREFIXES) and k not in _DROPPED}
    env.update(COLUMNS="40", PYTHONUNBUFFERED="1", AWS_EC2_METADATA_DISABLED="true")
    env.update(extra)
    return env


def picstore(*args: str, cwd: Path, timeout: float = 120, **env: str) -> Result:
    """``picstore ARGS`` in ``cwd`` with stdout and stderr piped."""
    proc = subprocess.run(
        [sys.executable, "-m", "picstore", *args],
        cwd=cwd,
        env=child_env(**env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)
