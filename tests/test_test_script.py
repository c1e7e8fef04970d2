"""scripts/test.sh shows what it does: one line per setup step, the installers' output in a log file,
and the end of that log when a step fails."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _step(tmp_path: Path, command: str) -> subprocess.CompletedProcess[str]:
    script = f'. scripts/steps.sh; step "install the things" things {command}; echo "after: $?"'
    return subprocess.run(
        ["bash", "-c", script],
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin", "PICSTORE_LOG_DIR": str(tmp_path / "logs")},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_a_step_prints_one_line_and_logs_the_rest(tmp_path: Path) -> None:
    result = _step(tmp_path, "sh -c 'seq 1 500; echo installed thing 1.2'")
    log = tmp_path / "logs" / "things.log"
    (line, after) = result.stdout.splitlines()
    assert re.fullmatch(
        rf"== install the things \.\.\. ok in \d+s: installed thing 1\.2 \(log: {log}\)", line
    )
    assert after == "after: 0"
    assert log.read_text().splitlines()[:2] == ["1", "2"] and len(log.read_text().splitlines()) == 501


def test_a_failed_step_prints_the_end_of_its_log(tmp_path: Path) -> None:
    result = _step(tmp_path, "sh -c 'seq 1 500; echo E: Unable to locate package nope >&2; exit 100'")
    lines = result.stdout.splitlines()
    assert re.fullmatch(
        r"== install the things \.\.\. FAILED \(exit 100 after \d+s\); last lines of .*", lines[0]
    )
    assert lines[-2] == "  | E: Unable to locate package nope"
    assert lines[-1] == "after: 100"
    assert len(lines) == 1 + 40 + 1 and lines[1] == "  | 462"


def test_test_sh_runs_every_install_as_a_logged_step() -> None:
    text = (REPO / "scripts" / "test.sh").read_text()
    for installer in ("scripts/venv.sh", "scripts/rgw.sh install", "pg_ctlcluster --skip"):
        (call,) = [
            line for line in text.splitlines() if installer in line and not line.lstrip().startswith("#")
        ]
        assert re.search(r"\bstep \"[^\"]+\" \w+ ", call), call
