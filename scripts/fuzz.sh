#!/usr/bin/env bash
# Runs every Go fuzz target in the repository for FUZZTIME (default 8s) each.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
n=0
while IFS= read -r file; do
  pkg=./$(dirname "$file")
  for target in $(grep -oE '^func (Fuzz[A-Za-z0-9_]+)\(' "$file" | sed -E 's/^func (Fuzz[A-Za-z0-9_]+)\(/\1/'); do
    echo "fuzz $pkg $target"
    go test -run='^$' -fuzz="^${target}\$" -fuzztime="${FUZZTIME:-8s}" -fuzzminimizetime=200x "$pkg" >/tmp/pvinject-fuzz.log 2>&1 || { cat /tmp/pvinject-fuzz.log; exit 1; }
    n=$((n + 1))
  done
done < <(grep -rl --include='*_test.go' -E '^func Fuzz' cmd core wizard ui 2>/dev/null | sort)
[ "$n" -gt 0 ] || { echo "fuzz: no fuzz targets found" >&2; exit 1; }
echo "fuzz: $n targets ran without a crash"
