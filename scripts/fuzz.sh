#!/usr/bin/env bash
# Runs every Go fuzz target in the repository for FUZZTIME (default 8s) each.
# A crash (Go writes "Failing input written to ...") fails at once. Go's
# fuzzer can also stop with a bare "context deadline exceeded" when its time
# runs out mid-input on a loaded machine, without any failing input; such a
# run is retried, twice at most, and fails if it never completes.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
log=$(mktemp)
trap 'rm -f "$log"' EXIT
n=0
while IFS= read -r file; do
  pkg=./$(dirname "$file")
  for target in $(grep -oE '^func (Fuzz[A-Za-z0-9_]+)\(' "$file" | sed -E 's/^func (Fuzz[A-Za-z0-9_]+)\(/\1/'); do
    for try in 1 2 3; do
      echo "fuzz $pkg $target"
      if go test -run='^$' -fuzz="^${target}\$" -fuzztime="${FUZZTIME:-8s}" -fuzzminimizetime=200x "$pkg" >"$log" 2>&1; then
        break
      fi
      if grep -q "Failing input written" "$log" || ! grep -q "context deadline exceeded" "$log" || [ "$try" = 3 ]; then
        cat "$log"
        exit 1
      fi
      echo "fuzz: $target stopped on the fuzzer's own deadline without a failing input; retrying"
    done
    n=$((n + 1))
  done
done < <(grep -rl --include='*_test.go' -E '^func Fuzz' cmd core wizard ui 2>/dev/null | sort)
[ "$n" -gt 0 ] || { echo "fuzz: no fuzz targets found" >&2; exit 1; }
echo "fuzz: $n targets ran without a crash"
