#!/usr/bin/env bash
# Installs what is missing, builds pvinject, and opens the wizard: on IMAGE when
# given, otherwise on the bundled demo image. Usage: scripts/run.sh [IMAGE]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
scripts/deps.sh run
mkdir -p bin
go build -o bin/pvinject ./cmd/pvinject
if [ $# -eq 0 ]; then exec bin/pvinject --demo; fi
exec bin/pvinject "$@"
