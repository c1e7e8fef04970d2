"""Each benchmark starts the way benchmarks/README.md says to run it: ``python benchmarks/<name>.py --help``.

A script's own directory comes first on ``sys.path``, so a benchmark named like a standard-library module
(``http.py``) hides that module from everything the script imports (httpx imports ``http.client``).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
SCRIPTS = sorted(BENCHMARKS.glob("*.py"))


def test_there_are_benchmarks() -> None:
    assert len(SCRIPTS) >= 3


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_no_benchmark_shadows_a_standard_module(script: Path) -> None:
    assert script.stem not in sys.stdlib_module_names, (
        f"rename {script.name}: it hides the stdlib's {script.stem}"
    )


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_benchmark_help_runs(script: Path) -> None:
    proc = subprocess.run(
        [sys.executable, f"benchmarks/{script.name}", "--help"],
        cwd=BENCHMARKS.parent,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("usage:")
