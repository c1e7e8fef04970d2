# Sourced by the scripts that install things: `step` runs one setup step with its output in a log file,
# prints one line saying what it did and how it went, and on failure the end of that log.
#
#   step "what it does" LOGNAME command args...
#
# Logs go to $PICSTORE_LOG_DIR (default .ci-logs/ in the checkout); each step's log is replaced per run.

PICSTORE_LOG_DIR=${PICSTORE_LOG_DIR:-.ci-logs}

step() {
  local what=$1 log="$PICSTORE_LOG_DIR/$2.log" started=$SECONDS rc=0 last
  shift 2
  mkdir -p "$PICSTORE_LOG_DIR"
  printf '== %s ... ' "$what"
  "$@" >"$log" 2>&1 || rc=$?
  # The log's last line usually says what happened ("installed ceph 18.2.4", "already installed").
  last=$(grep -v '^[[:space:]]*$' "$log" | tail -n 1 | cut -c1-160 || true)
  if [ "$rc" = 0 ]; then
    printf 'ok in %ss%s (log: %s)\n' "$((SECONDS - started))" "${last:+: $last}" "$log"
  else
    printf 'FAILED (exit %s after %ss); last lines of %s:\n' "$rc" "$((SECONDS - started))" "$log"
    tail -n 40 "$log" | sed 's/^/  | /'
    return "$rc"
  fi
}
