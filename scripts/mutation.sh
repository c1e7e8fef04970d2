#!/usr/bin/env bash
# Mutation testing of picstore's core modules with mutmut 3. Not part of CI (minutes per module): run it
# when you change a rule in one of these modules, and keep docs/testing.md's table true.
#
# Usage: scripts/mutation.sh [--budget SECONDS] [--jobs N] [MODULE ...]
#   MODULE     a name from the MODULES list below (e.g. keys.py, ingest/sniff.py); default: all of them
#   --budget   wall-clock seconds per module (default 900); mutants not reached in time count as
#              "unchecked" and are printed, never as killed
#   --jobs     mutants tested at once (default 2)
#
# Each module is mutated alone, in its own scratch copy under .mutation/, and tested only with its own
# fast tests (mutmut runs, per mutant, just the tests that reach the mutated function). Workers are
# forked from a fork server ("forkserver" isolation): picstore's libvips guard refuses a process forked
# after libvips started, so with plain fork isolation every mutant would look killed.
#
# Mutants listed in docs/testing.md ("Equivalent mutants") are counted apart: they cannot change behaviour.
# Output: one row per module, module | mutants | killed | survived | equivalent | unchecked | score, where
# score = killed / (mutants - equivalent); the surviving mutants' names follow the table.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CATALOG_K="not postgresql and not grace_zero"
CATALOG_PG_K="not grace_zero"

# module under src/picstore (a file, or a glob of files) | the tests that exercise it [| a pytest -k
# expression choosing among them: the catalog's modules leave out the seconds-long gc/upload race loops,
# and those with row locks, upserts, LIKE, a dialect switch or an ORDER BY also run on PostgreSQL, where
# these differ (CATALOG_PG_K); the others run on SQLite only (CATALOG_K)]
MODULES=(
  "keys.py|tests/test_keys.py"
  "upload_data.py|tests/test_upload_data.py"
  "ingest/limits.py|tests/test_ingest_limits.py"
  "ingest/sniff.py|tests/test_ingest_sniff.py"
  "ingest/options.py|tests/test_ingest_options.py"
  "ingest/budget.py|tests/test_ingest_budget.py tests/test_ingest_budget_rules.py"
  "ingest/headers/jpeg.py|tests/test_ingest_headers_jpeg.py"
  "ingest/headers/png.py|tests/test_ingest_headers_png.py"
  "ingest/headers/gif.py|tests/test_ingest_headers_gif.py"
  "ingest/headers/tiff.py|tests/test_ingest_headers_tiff.py"
  "ingest/headers/webp.py|tests/test_ingest_headers_webp.py"
  "ingest/headers/isobmff.py|tests/test_ingest_headers_isobmff.py"
  "ingest/libvips.py|tests/test_ingest_libvips.py tests/test_ingest_hardening.py tests/test_ingest_pipeline.py"
  "ingest/frames.py|tests/test_ingest_frames.py tests/test_ingest_pipeline.py tests/test_ingest_hardening.py"
  "ingest/decode.py|tests/test_ingest_decode.py tests/test_ingest_pipeline.py tests/test_ingest_animation.py"
  "ingest/normalize.py|tests/test_ingest_normalize.py tests/test_ingest_pipeline.py"
  "ingest/encode.py|tests/test_ingest_encode.py tests/test_ingest_pipeline.py tests/test_ingest_animation.py"
  "ingest/pipeline.py|tests/test_ingest_pipeline.py tests/test_ingest_animation.py tests/test_ingest_budget.py tests/test_ingest_hardening.py"
  "variants/spec.py|tests/test_variants_spec.py"
  "variants/render.py|tests/test_variants_render.py tests/test_ingest_pipeline.py"
  "web/serve.py|tests/test_serve.py tests/test_api_blobs.py"
  "web/ranges.py|tests/test_serve_ranges.py tests/test_serve.py"
  "web/turns.py|tests/test_turns.py"
  "web/throttle.py|tests/test_throttle.py"
  "blobs/local.py|tests/test_blobs_local.py"
  "catalog/blobs.py|tests/test_catalog_blobs.py tests/test_gc_race.py tests/test_catalog_scale.py|$CATALOG_PG_K"
  "catalog/reservations.py|tests/test_catalog_blobs.py tests/test_gc_race.py|$CATALOG_PG_K"
  "catalog/images.py|tests/test_catalog_images.py tests/test_catalog_blobs.py tests/test_gc_race.py|$CATALOG_PG_K"
  "catalog/cursor.py|tests/test_catalog_images.py|$CATALOG_K"
  "catalog/tenants.py|tests/test_catalog_tenants.py|$CATALOG_K"
  "catalog/renders.py|tests/test_catalog_renders.py|$CATALOG_PG_K"
  "catalog/transactions.py|tests/test_catalog_transactions.py|$CATALOG_PG_K"
  "catalog/listings.py|tests/test_catalog_listings.py|$CATALOG_PG_K"
  "catalog/access.py|tests/test_catalog_access.py|$CATALOG_K"
  "catalog/engine.py|tests/test_catalog.py tests/test_catalog_engine.py"
  "catalog/located.py|tests/test_catalog_images.py|$CATALOG_PG_K"
  "catalog/rows.py|tests/test_catalog_images.py|$CATALOG_K"
  "catalog/clock.py|tests/test_catalog_clock.py"
  "catalog/targets.py|tests/test_catalog_targets.py|$CATALOG_PG_K"
  "catalog/legacy.py|tests/test_catalog_legacy.py|$CATALOG_PG_K"
  "catalog/repository.py|tests/test_catalog.py|$CATALOG_K"
  "direct_uploads.py|tests/test_direct_uploads.py tests/test_api_uploads.py tests/s3/test_api_s3.py"
  "catalog/upload_records.py|tests/test_direct_uploads.py tests/test_catalog_upload_records.py"
)

BUDGET=900
JOBS=2
WANTED=()
while [ $# -gt 0 ]; do
  case "$1" in
    --budget) BUDGET=$2; shift 2 ;;
    --jobs) JOBS=$2; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) WANTED+=("$1"); shift ;;
  esac
done

scripts/venv.sh test
MUTMUT="$ROOT/.venv/bin/mutmut"
[ -x "$MUTMUT" ] || { echo "mutmut is missing from .venv: pip install -e '.[test]'" >&2; exit 1; }
export RGW_KEEP=1 PICSTORE_CORPUS=${PICSTORE_CORPUS:-$ROOT/../shared/corpus}

RESULTS="$ROOT/.mutation/results"
mkdir -p "$RESULTS"
for row in "${MODULES[@]}"; do
  module=${row%%|*}
  tests=${row#*|}
  kexpr=""
  if [[ $tests == *"|"* ]]; then
    kexpr=${tests#*|}
    tests=${tests%%|*}
  fi
  if [ ${#WANTED[@]} -gt 0 ] && [[ ! " ${WANTED[*]} " == *" $module "* ]]; then
    continue
  fi
  slug=$(echo "$module" | tr '/*.' '___')
  work="$ROOT/.mutation/$slug"
  rm -rf "$work"
  mkdir -p "$work"
  cp -r src tests pyproject.toml "$work/"
  test_list=$(printf '"%s", ' $tests)
  k_args=""
  [ -n "$kexpr" ] && k_args=", \"-k\", \"$kexpr\""
  cat >>"$work/pyproject.toml" <<EOF

[tool.mutmut]
source_paths = ["src"]
only_mutate = ["src/picstore/$module"]
pytest_add_cli_args_test_selection = [${test_list%, }]
pytest_add_cli_args = ["-p", "no:cacheprovider", "-x", "-q"$k_args]
process_isolation = "forkserver"
EOF
  echo "== $module ($tests), budget ${BUDGET}s" >&2
  start=$(date +%s)
  (cd "$work" && timeout --signal=INT --kill-after=30 "$BUDGET" "$MUTMUT" run --max-children "$JOBS" \
    >"$work/run.log" 2>&1) || echo "   (stopped at the budget or failed: see $work/run.log)" >&2
  echo "   $(( $(date +%s) - start ))s" >&2
  (cd "$work" && "$MUTMUT" results --all True >"$RESULTS/$slug.txt" 2>>"$work/run.log") || true
  echo "$module" >"$RESULTS/$slug.module"
done

"$ROOT/.venv/bin/python" - "$RESULTS" "$ROOT/docs/testing.md" "${WANTED[@]:-}" <<'EOF'
import re
import sys
from pathlib import Path

results, doc, wanted = Path(sys.argv[1]), Path(sys.argv[2]), set(filter(None, sys.argv[3:]))
text = doc.read_text() if doc.is_file() else ""
equivalent = set(re.findall(r"^\| `([^`]+__mutmut_\d+)` \|", text, re.MULTILINE))
rows, survivors, stale = [], [], []
for module_file in sorted(results.glob("*.module")):
    module = module_file.read_text().strip()
    if wanted and module not in wanted:
        continue
    counts = {"killed": 0, "survived": 0, "equivalent": 0, "unchecked": 0}
    for line in module_file.with_suffix(".txt").read_text().splitlines():
        name, _, status = line.strip().rpartition(": ")
        if not name:
            continue
        if name in equivalent:
            counts["equivalent"] += 1
            if status in ("killed", "timeout"):
                stale.append(name)
        elif status in ("killed", "timeout", "caught by type check"):
            counts["killed"] += 1
        elif status in ("not checked", "check was interrupted by user"):
            counts["unchecked"] += 1
            survivors.append(f"{name}: {status}")
        else:  # survived, no tests, suspicious, segfault: the tests did not catch it
            counts["survived"] += 1
            survivors.append(f"{name}: {status}")
    total = sum(counts.values())
    judged = total - counts["equivalent"]
    score = f"{100 * counts['killed'] / judged:.0f} %" if judged else "-"
    rows.append((module, total, counts["killed"], counts["survived"], counts["equivalent"],
                 counts["unchecked"], score))
print("| module | mutants | killed | survived | equivalent | unchecked | score |")
print("|---|---|---|---|---|---|---|")
for row in rows:
    print("| " + " | ".join(str(v) for v in row) + " |")
if survivors:
    print("\nNot killed (mutmut show NAME in .mutation/<module>/ prints the diff):")
    print("\n".join(f"  {s}" for s in survivors))
if stale:
    print("\nListed as equivalent in docs/testing.md but killed (remove them there):")
    print("\n".join(f"  {s}" for s in stale))
EOF
