#!/usr/bin/env bash
# Real-window test of the real binary: builds cmd/pvinject, starts
# `pvinject --demo` (the bundled demo over the real core) with a private
# HOME and cache, so the demo unpacks into a temporary folder, waits for a
# window whose title begins with "pvinject", measures the time to it,
# screenshots steps 1 to 4 (Enter = Next), fails if a screenshot is blank or
# Enter did not change the screen, and kills the program by its PID.
#
# Runs on $DISPLAY when the caller set it (scripts/gui-smoke.sh passes its
# Xvfb), else on its own Xvfb. Needs: Xvfb, xdotool, ImageMagick (import,
# identify, compare), Go with cgo and the GL/X11 headers.
# Usage: scripts/gui-real.sh [OUTDIR]
set -euo pipefail
export PATH=$PATH:/usr/sbin:/sbin
cd "$(dirname "$0")/.."
root=$PWD
out=${1:-artifacts/gui}
for c in Xvfb xdotool import identify compare go; do
  command -v "$c" >/dev/null || { echo "gui-real: missing $c (apt-get install -y xvfb xdotool imagemagick)" >&2; exit 2; }
done
mkdir -p "$out"
bin="$out/pvinject"
go build -o "$bin" ./cmd/pvinject

tmp=$(mktemp -d)
xvfb=
app=
cleanup() {
  [ -n "$app" ] && kill "$app" 2>/dev/null || true
  [ -n "$xvfb" ] && kill "$xvfb" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
if [ -z "${DISPLAY:-}" ]; then
  disp=99
  while [ -e "/tmp/.X$disp-lock" ]; do disp=$((disp + 1)); done
  Xvfb ":$disp" -screen 0 1280x900x24 -nolisten tcp >"$out/xvfb-real.log" 2>&1 &
  xvfb=$!
  export DISPLAY=":$disp"
  for _ in $(seq 100); do xdpyinfo >/dev/null 2>&1 && break || sleep 0.05; done 2>/dev/null || sleep 1
fi

source scripts/gui-lib.sh # the working directory is the repository root

# The window must be up before the first step: the time includes unpacking
# the demo and opening the window, not building.
t0=$(date +%s%N)
HOME="$tmp" XDG_CACHE_HOME="$tmp/.cache" XDG_CONFIG_HOME="$tmp/.config" \
  "$root/$bin" --demo >"$out/real.log" 2>&1 &
app=$!
wait_window gui-real "$app" "$out/real.log"
t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
echo "gui-real: first window \"$(xdotool getwindowname "$wid")\" after $ms ms"
printf 'real_first_window_ms %s\n' "$ms" >"$out/real-timing.txt"
[ -f "$tmp/.cache/pvinject/demo/demo-win10.qcow2" ] || { echo "gui-real: the demo did not unpack into $tmp/.cache" >&2; exit 1; }

prev=
shot() { # shot NAME [WAIT]: screenshot the window, retrying until painted
  local f="$out/$1.png" i
  sleep "${2:-1}"
  for i in $(seq 20); do
    import -window "$wid" "$f" 2>/dev/null && ! blank "$f" && break
    sleep 0.25
  done
  if blank "$f"; then echo "gui-real: $f is blank" >&2; exit 1; fi
  if [ -n "$prev" ]; then
    # compare exits 1 when the pictures differ; the count is on stderr.
    diff=$(compare -metric AE "$prev" "$f" null: 2>&1 || true)
    if [ "${diff%% *}" = 0 ]; then echo "gui-real: $f is the same as $prev: Enter did not move on" >&2; exit 1; fi
  fi
  prev=$f
  echo "gui-real: $f ok (standard deviation $(identify -format '%[fx:standard_deviation]' "$f"))"
}
next() { xdotool windowfocus --sync "$wid" 2>/dev/null || true; xdotool key --window "$wid" Return; }

shot real-step1 1.5
for s in real-step2 real-step3 real-step4; do
  next
  shot "$s" 1.5
done
kill "$app"
wait "$app" 2>/dev/null || true
app=
echo "gui-real: PASS, screenshots in $out"
