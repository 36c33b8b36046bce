#!/usr/bin/env bash
# Installs what is missing and runs every quality gate and test: gofmt, go vet,
# staticcheck, the core under the race detector, wizard/ui/cmd, every fuzz
# target for a short budget, the macOS command-line build, the Windows build
# under Wine, and the real-window GUI smoke test under Xvfb.
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
# The macOS command-line build (cgo off, so without the wizard: see README),
# compiled and vetted for both Mac architectures.
darwin_cli() {
  local a
  for a in arm64 amd64; do
    GOOS=darwin GOARCH=$a CGO_ENABLED=0 go build -o /dev/null ./cmd/pvinject &&
      GOOS=darwin GOARCH=$a CGO_ENABLED=0 go vet ./cmd/pvinject/... ./core/... ./wizard/... || return 1
  done
}
gate "macOS CLI build (darwin arm64 and amd64)" darwin_cli
# pvinject.exe cross-compiled with mingw-w64 and run under Wine on raw,
# qcow2 and VHDX images, and its wizard under Xvfb (cmd/pvinject/wine_test.go,
# build tag wine).
gate "Windows build under Wine" sh -c 'go vet -tags wine ./cmd/pvinject && staticcheck -tags wine ./cmd/pvinject &&
  go test -tags wine -count=1 -timeout 20m -run "^TestWine" ./cmd/pvinject'
gate "fuzz targets (${FUZZTIME:=8s} each)" env FUZZTIME="$FUZZTIME" scripts/fuzz.sh
gate "GUI smoke test under Xvfb" timeout 1200 scripts/gui-smoke.sh

if [ ${#failed[@]} -gt 0 ]; then
  step "FAILED gates: ${failed[*]}"
  exit 1
fi
step "all gates passed"
