"""An anchor from PyPI in a venv of its own beside the benchmarks (``benchmarks/.venv-<name>``), so that
what the anchor needs never meets picstore's own dependencies. Made on first use; a failed install is a
skip with the reason, never a failed benchmark."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent


def side_venv(name: str, requirement: str, probe: Sequence[str]) -> Path | None:
    """``benchmarks/.venv-<name>`` with ``requirement`` installed; None, with the reason printed, when it
    does not install here. ``probe`` is a command run from the venv's ``bin/`` (``["python", "-c",
    "import thumbor"]``, ``["aws", "--version"]``) that succeeds once the requirement is in."""
    venv = HERE / f".venv-{name}"
    bin_dir = venv / "bin"

    def installed() -> bool:
        command = [str(bin_dir / probe[0]), *probe[1:]]
        return (bin_dir / probe[0]).exists() and subprocess.run(command, capture_output=True).returncode == 0

    if installed():
        return venv
    print(f"installing {requirement} into {venv} ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = subprocess.run(
        [str(bin_dir / "python"), "-m", "pip", "install", "-q", requirement], capture_output=True, text=True
    )
    if pip.returncode != 0 or not installed():
        tail = "\n".join(pip.stderr.strip().splitlines()[-5:])
        print(f"SKIP {name}: {requirement} does not install on Python {sys.version.split()[0]}:\n{tail}")
        return None
    return venv


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description="Make (or check) an anchor's venv ahead of a benchmark run.")
    parser.add_argument("name", help="the venv is benchmarks/.venv-NAME")
    parser.add_argument("requirement", help="what pip installs, e.g. 'thumbor>=7,<8'")
    parser.add_argument(
        "probe", nargs=argparse.REMAINDER, help="a command in the venv's bin/ that succeeds once installed"
    )
    args = parser.parse_args()
    venv = side_venv(args.name, args.requirement, args.probe)
    raise SystemExit(0 if venv is not None else 1)


if __name__ == "__main__":
    main()
