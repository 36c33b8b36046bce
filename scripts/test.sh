#!/usr/bin/env bash
# Installs what is missing and runs every quality gate and test: gofmt, go vet,
# staticcheck, the core under the race detector, wizard/ui/cmd, every fuzz
# target for a short budget, and the real-window GUI smoke test under Xvfb.
# PVINJECT_STRICT=1 turns any test that would skip for a missing tool, fixture
# or corpus into a failure, so this never passes while running no test.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
scripts/deps.sh test
export PVINJECT_STRICT=${PVINJECT_STRICT:-1}
start=$(date +%s)
failed=()
step() { echo; echo "== $* ($(( $(date +%s) - start )) s)"; }
# gate NAME CMD...: runs one gate; a failure is recorded and the next gate
# still runs, so one CI run shows every broken gate, not just the first.
gate() {
  local name=$1; shift
  step "$name"
  if ! "$@"; then
    echo "!! FAILED: $name"
    failed+=("$name")
  fi
}
gofmt_clean() {
  local bad
  bad=$(gofmt -l cmd core wizard ui assets internal 2>/dev/null || true)
  [ -z "$bad" ] || { echo "gofmt would change:"; echo "$bad"; return 1; }
}

gate gofmt gofmt_clean
gate "go vet" go vet ./...
gate staticcheck staticcheck ./...
gate "go test -race ./core/..." go test -race -count=1 -timeout 30m ./core/...
# The whole injection suite again with the pure-Go hive engine (the one
# Windows and macOS builds use), every independent check included.
gate "go test ./core/inject/... (pure-Go hive engine)" env PVINJECT_HIVE_ENGINE=go go test -count=1 -timeout 20m -skip TestHiveEnginesAgreeOnPlans ./core/inject/...
gate "go test ./wizard/... ./ui/... ./cmd/... ./internal/..." go test -count=1 -timeout 20m ./wizard/... ./ui/... ./cmd/... ./internal/...
gate "fuzz targets (${FUZZTIME:=8s} each)" env FUZZTIME="$FUZZTIME" scripts/fuzz.sh
gate "GUI smoke test under Xvfb" scripts/gui-smoke.sh

if [ ${#failed[@]} -gt 0 ]; then
  step "FAILED gates: ${failed[*]}"
  exit 1
fi
step "all gates passed"
