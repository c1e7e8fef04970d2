#!/usr/bin/env bash
# Create .venv (if missing) and install picstore into it. Usage: scripts/venv.sh [extra]
# Sourced by serve.sh and test.sh; safe to run again (pip skips what is installed).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if ! "$PY" -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null; then
  echo "picstore needs Python 3.11 or newer as '$PY' (set PYTHON=/path/to/python3.11)" >&2; exit 1
fi
if [ ! -x .venv/bin/python ]; then
  if ! "$PY" -m venv .venv 2>/dev/null; then
    # Debian/Ubuntu ship venv separately.
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      rm -rf .venv
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
      "$PY" -m venv .venv
    else
      echo "cannot create a virtualenv: run 'sudo apt-get install python3-venv' and try again" >&2; exit 1
    fi
  fi
fi
extra=${1:-}
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".${extra:+[$extra]}" 2>&1 \
  | grep -v -e '^WARNING: Location' -e 'is ignored: it is neither a file nor a directory' || true
