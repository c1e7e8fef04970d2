#!/usr/bin/env bash
# Debian's Chromium for picstore's browser tests (Playwright drives it; its own browser download is not used).
#
#   scripts/browser.sh install   as root on Debian/Ubuntu: apt-get chromium (skipped when present), quietly,
#                                the install log in ${TMPDIR:-/tmp}/picstore-chromium-install.log
#   scripts/browser.sh path      print the Chromium binary the tests launch, exit 1 when there is none
set -euo pipefail
LOG=${TMPDIR:-/tmp}/picstore-chromium-install.log

find_chromium() {
  # The real binary, not Debian's wrapper script (which prints harmless noise under /bin/sh).
  for candidate in "${PICSTORE_CHROMIUM:-}" /usr/lib/chromium/chromium /usr/bin/chromium /usr/bin/chromium-browser; do
    if [ -n "$candidate" ] && [ -x "$candidate" ]; then echo "$candidate"; return 0; fi
  done
  return 1
}

case ${1:-} in
  install)
    if find_chromium >/dev/null; then exit 0; fi
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
      echo "browser.sh: Chromium is missing; install it with 'sudo apt-get install chromium'" >&2; exit 1
    fi
    echo "browser.sh: installing Debian's chromium (log: $LOG)" >&2
    {
      apt-get update -o DPkg::Lock::Timeout=300 &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
          -o DPkg::Lock::Timeout=300 chromium fonts-dejavu-core
    } >"$LOG" 2>&1 || { echo "browser.sh: apt-get failed; last lines of $LOG:" >&2; tail -n 15 "$LOG" >&2; exit 1; }
    find_chromium >/dev/null || { echo "browser.sh: chromium installed but not found" >&2; exit 1; }
    ;;
  path) find_chromium ;;
  *) echo "usage: scripts/browser.sh install|path" >&2; exit 2 ;;
esac
