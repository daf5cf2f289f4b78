#!/usr/bin/env bash
# Every benchmark at 1 and 2 threads, on a quiet machine and with one competing busy process
# (a student's browser or a second kernel), so a speed claim is shown where students run it.
# Each script prints ratios against a reference timed in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
busy=""
trap '[ -n "$busy" ] && kill "$busy" 2>/dev/null || true' EXIT
for load in quiet loaded; do
  if [ "$load" = loaded ]; then
    "$PY" -c "while True: pass" &
    busy=$!
  fi
  for threads in 1 2; do
    for f in benchmarks/bench_*.py; do
      echo "== $f  ($threads thread(s), $load)"
      LESSONS_NUM_THREADS=$threads OMP_NUM_THREADS=$threads "$PY" "$f"
    done
  done
  if [ -n "$busy" ]; then kill "$busy"; busy=""; fi
done
