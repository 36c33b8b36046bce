#!/usr/bin/env bash
# Installs what pvinject needs on Debian/Ubuntu, only what is missing, so a
# second run costs a few dpkg queries. Usage: scripts/deps.sh [run|test]
#   run:  build + GUI runtime packages
#   test: run packages plus the independent tools the tests use as oracles
set -euo pipefail
mode=${1:-test}

run_pkgs=(gcc pkg-config libhivex-dev libgl1-mesa-dev xorg-dev libgtk-3-dev
  ntfs-3g qemu-utils libhivex-bin fdisk)
test_pkgs=(libwin-hivex-perl libregf-utils sleuthkit libfsntfs-utils 7zip xvfb xauth
  xdotool imagemagick dosfstools mtools genisoimage python3 openssl wine64 wine gcc-mingw-w64-x86-64-win32 unzip xz-utils gzip libvhdi-utils bc x11-utils desktop-file-utils)

pkgs=("${run_pkgs[@]}")
[ "$mode" = test ] && pkgs+=("${test_pkgs[@]}")

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

command -v go >/dev/null || { echo "deps: Go 1.26+ is required (https://go.dev/dl); /usr/local/go/bin must be on PATH" >&2; exit 1; }
go mod download
if [ "$mode" = test ]; then
  gobin=$(go env GOPATH)/bin
  if ! "$gobin/staticcheck" -version 2>/dev/null | grep -q '(0.8.2)'; then
    GOBIN=$gobin go install honnef.co/go/tools/cmd/staticcheck@v0.8.2
  fi
fi
