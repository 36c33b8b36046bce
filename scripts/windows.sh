#!/usr/bin/env bash
# Cross-compiles the Windows build of pvinject on Linux with mingw-w64 and,
# for the tests, prepares a private Wine prefix that can run it.
#
#   scripts/windows.sh build [OUTDIR]    OUTDIR/pvinject.exe (wizard + CLI;
#                                        default OUTDIR: bin/windows)
#   scripts/windows.sh prefix DIR        a Wine prefix in DIR holding the
#                                        TEST-ONLY stand-in bcryptprimitives.dll
#   scripts/windows.sh package [OUTDIR]  OUTDIR/pvinject.exe packaged by
#                                        `fyne package -os windows` (icon,
#                                        version resource)
#   scripts/windows.sh [OUTDIR]          build, then the test prefix in
#                                        testdata/gen/wine (never beside the
#                                        program, so it is never shipped)
#
# Why the stand-in DLL: Go 1.22+ Windows binaries call ProcessPrng from
# bcryptprimitives.dll at start-up; Windows 10+ ship it, Debian 12's Wine 8.0
# does not. scripts/wine/processprng.c fills the buffer through RtlGenRandom
# instead. It goes into the prefix's system32 only and never ships.
#
# Needs: go, x86_64-w64-mingw32-gcc (gcc-mingw-w64-x86-64-win32), wine.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

die() { echo "windows.sh: $*" >&2; exit 1; }
need() { for c in "$@"; do command -v "$c" >/dev/null || die "missing $c (scripts/deps.sh test installs it)"; done; }

build() {
  local out=${1:-bin/windows}
  need go x86_64-w64-mingw32-gcc
  mkdir -p "$out"
  local t0=$SECONDS
  CGO_ENABLED=1 GOOS=windows GOARCH=amd64 CC=x86_64-w64-mingw32-gcc \
    go build -o "$out/pvinject.exe" ./cmd/pvinject
  echo "windows.sh: built $out/pvinject.exe in $((SECONDS - t0)) s" >&2
}

prefix() {
  local dir=${1:?prefix DIR}
  need x86_64-w64-mingw32-gcc wine
  mkdir -p "$dir"
  dir=$(realpath "$dir")
  local dll=$dir/drive_c/windows/system32/bcryptprimitives.dll
  if [ ! -f "$dir/system.reg" ]; then
    local t0=$SECONDS
    # No Mono or Gecko install prompts: pvinject needs neither.
    WINEPREFIX=$dir WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=" wineboot -i >/dev/null 2>&1 ||
      die "wineboot could not create the prefix $dir"
    WINEPREFIX=$dir wineserver -w
    echo "windows.sh: Wine prefix $dir created in $((SECONDS - t0)) s" >&2
  fi
  [ "$dll" -nt scripts/wine/processprng.c ] ||
    x86_64-w64-mingw32-gcc -shared -O2 -s -o "$dll" scripts/wine/processprng.c -ladvapi32
  echo "$dir"
}

package() {
  local out=${1:-bin/windows}
  need go x86_64-w64-mingw32-gcc
  local fyne
  fyne=$(command -v fyne || echo "$(go env GOPATH)/bin/fyne")
  [ -x "$fyne" ] || GOBIN=$(go env GOPATH)/bin go install fyne.io/fyne/v2/cmd/fyne@v2.7.1
  mkdir -p "$out"
  out=$(realpath "$out")
  # fyne package reads FyneApp.toml beside the main package and counts its
  # build number up there; the repository keeps its own. A FyneApp.toml at
  # the repository root is lent to cmd/pvinject for the run, its icon
  # passed by absolute path.
  local src=cmd/pvinject keep=$out/FyneApp.toml.keep lent=
  local -a icon=()
  if [ -f $src/FyneApp.toml ]; then
    cp $src/FyneApp.toml "$keep"
  else
    [ -f FyneApp.toml ] || die "no FyneApp.toml"
    cp FyneApp.toml $src/FyneApp.toml
    lent=1
    icon=(--icon "$PWD/$(sed -n 's/^ *Icon *= *"\(.*\)"/\1/p' FyneApp.toml)")
  fi
  local rc=0
  (cd $src && GOARCH=amd64 CGO_ENABLED=1 CC=x86_64-w64-mingw32-gcc "$fyne" package -os windows "${icon[@]}" &&
    mv -f pvinject.exe "$out/pvinject.exe") || rc=$?
  if [ -n "$lent" ]; then rm -f $src/FyneApp.toml; else mv -f "$keep" $src/FyneApp.toml; fi
  [ $rc -eq 0 ] || die "fyne package failed"
  console_subsystem "$out/pvinject.exe"
  echo "windows.sh: packaged $out/pvinject.exe" >&2
}

# console_subsystem EXE: fyne package links a GUI-subsystem program, which
# cmd.exe and PowerShell neither wait for nor give a console, so the
# command-line half would print nothing and lose its exit status. The PE
# header's Subsystem field (offset 68 of the optional header, 2 = GUI,
# 3 = console) is set back to console; the wizard closes the console
# window Windows opens for it when it was started from Explorer.
console_subsystem() {
  python3 - "$1" <<'PY'
import struct, sys
with open(sys.argv[1], 'r+b') as f:
    b = f.read(4096)
    pe = struct.unpack_from('<I', b, 0x3c)[0]
    if b[pe:pe+4] != b'PE\0\0':
        sys.exit('not a PE file: ' + sys.argv[1])
    off = pe + 24 + 68
    if struct.unpack_from('<H', b, off)[0] not in (2, 3):
        sys.exit('unexpected subsystem in ' + sys.argv[1])
    f.seek(off)
    f.write(struct.pack('<H', 3))
PY
}

case ${1:-} in
  build) build "${2:-}" ;;
  prefix) prefix "${2:?usage: windows.sh prefix DIR}" >/dev/null ;;
  package) package "${2:-}" ;;
  -h|--help) sed -n '2,/^# Needs/p' "$0" ;;
  *) build "${1:-}"; prefix testdata/gen/wine >/dev/null ;;
esac
