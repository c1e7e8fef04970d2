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

# The whole suite (no selection given: at most -q/-v/-x) also runs the S3 tier a second time with picstore's S3 requests
# through the fault proxy (tests/s3/conftest.py: random 503 SlowDown, resets before/after RGW commits,
# truncated bodies, latency; about 2.5 minutes). PICSTORE_S3_FAULTS=0 skips it.
whole=1
for arg in "$@"; do case "$arg" in -q | -qq | -v | -vv | -x) ;; *) whole=0 ;; esac; done
if [ "$whole" = 1 ] && [ "${PICSTORE_S3_FAULTS:-0.03}" != 0 ]; then
  echo "== pytest: the S3 tier through the fault proxy"
  PICSTORE_S3_FAULTS="${PICSTORE_S3_FAULTS:-0.03}" python -m pytest -q tests/s3
fi
