#!/usr/bin/env bash
# Set up picstore in .venv and run `picstore serve` on the embedded default (local files + SQLite under
# ./picstore-data). Extra arguments go to `picstore serve` (e.g. --host 0.0.0.0 --port 9000).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/venv.sh
exec .venv/bin/picstore serve "$@"
