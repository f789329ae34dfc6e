#!/usr/bin/env bash
# Times what a newcomer waits for: `git clone` to the first page served by `make run`, then
# `make test` in that clone. Prints both in seconds. Run from the checkout: make bench-startup
set -euo pipefail

source_repo=$(git rev-parse --show-toplevel)
port=${PORT:-8765}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
now() { echo "$EPOCHREALTIME"; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
answers() { python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "$1" 2>/dev/null; }

start=$(now)
git clone --quiet "$source_repo" "$work/portal"
cd "$work/portal"
# setsid: its own process group, so that the INT below reaches make run as Ctrl-C would.
setsid env PORT="$port" make run > "$work/run.log" 2>&1 &
run_pid=$!
until answers "http://127.0.0.1:$port/"; do
  if ! kill -0 "$run_pid" 2>/dev/null; then cat "$work/run.log"; echo "make run died" >&2; exit 1; fi
  sleep 0.2
done
first_page=$(elapsed "$start")
kill -INT -- "-$run_pid"
wait "$run_pid" || true

start=$(now)
make test > "$work/test.log" 2>&1 || { tail -40 "$work/test.log"; exit 1; }
test_time=$(elapsed "$start")

echo "clone -> first page served by make run: $first_page s"
echo "make test (after make run, same clone):  $test_time s"
grep -E "passed|failed" "$work/test.log" | tail -1
