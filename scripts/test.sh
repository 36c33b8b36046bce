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
step() { echo; echo "== $* ($(( $(date +%s) - start )) s)"; }

step gofmt
bad=$(gofmt -l cmd core wizard ui assets 2>/dev/null || true)
[ -z "$bad" ] || { echo "gofmt would change:"; echo "$bad"; exit 1; }

step go vet
go vet ./...

step staticcheck
staticcheck ./...

step "go test -race ./core/..."
go test -race -count=1 -timeout 30m ./core/...

step "go test ./wizard/... ./ui/... ./cmd/..."
go test -count=1 -timeout 20m ./wizard/... ./ui/... ./cmd/...

step "fuzz targets (${FUZZTIME:=8s} each)"
FUZZTIME=$FUZZTIME scripts/fuzz.sh

step "GUI smoke test under Xvfb"
scripts/gui-smoke.sh

step "all gates passed"
