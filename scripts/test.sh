#!/usr/bin/env bash
# Set up everything the test suite needs and run all of it: ruff, mypy, pytest (SQLite and PostgreSQL
# catalogs, file/memory/S3 blob stores against a real Ceph RGW). Extra arguments go to pytest.
# Under CI (CI=1) a missing PostgreSQL or S3 server fails the run instead of skipping those tests.
# Each setup step prints one line; its full output (pip, apt) is in .ci-logs/<step>.log.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/steps.sh
step "python environment: .venv with picstore[test] (pip)" pip scripts/venv.sh test
export PATH="$PWD/.venv/bin:$PATH"

if [ "$(id -u)" = 0 ]; then
  # A real S3 server for the tests (installed once with apt; the test fixture starts it).
  [ -x scripts/rgw.sh ] && step "Ceph RADOS Gateway for the S3 tests (apt)" ceph scripts/rgw.sh install
  [ -x scripts/browser.sh ] && step "Debian Chromium for the browser tests (apt)" chromium scripts/browser.sh install
  # This machine kind runs PostgreSQL; start it if it stopped.
  if command -v pg_ctlcluster >/dev/null && ! pg_isready -q -h 127.0.0.1 2>/dev/null; then
    step "start PostgreSQL" postgres pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  fi
fi

echo "== ruff"; ruff check src tests benchmarks; ruff format --check src tests benchmarks
echo "== mypy"; mypy
echo "== pytest"; python -m pytest "$@"
