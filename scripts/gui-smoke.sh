#!/usr/bin/env bash
# Real-window smoke test of the pvinject GUI under Xvfb (1920x1080): first on
# the fake engine (all six steps and Apply), then the real binary through the
# cases of scripts/gui-real.sh (the demo by keyboard alone at 150% scale,
# unsafe guests, unsigned drivers, reopening, two Windows, a non-disk file).
#
# Builds ui/internal/smoke, starts it on a private X display, waits for a
# window whose title begins with "pvinject", measures the time to that first
# window, walks the six steps with the keyboard (Enter = Next), screenshots
# every step into artifacts/gui/, and fails if a screenshot is blank.
#
# Needs: Xvfb, xdotool, ImageMagick (import, identify), Go with cgo and the
# GL/X11/GTK headers. Usage: scripts/gui-smoke.sh [OUTDIR]
set -Eeuo pipefail
# Every way this script fails says FAIL and where, even a command that ends
# it through set -e without a word of its own.
trap 'rc=$?; echo "gui-smoke: FAIL: line $LINENO: \"$BASH_COMMAND\" exited $rc" >&2' ERR
export PATH=$PATH:/usr/sbin:/sbin
cd "$(dirname "$0")/.."
out=${1:-artifacts/gui}
for c in Xvfb xdotool import identify go; do
  command -v "$c" >/dev/null || { echo "gui-smoke: missing $c (apt-get install -y xvfb xdotool imagemagick)" >&2; exit 2; }
done
mkdir -p "$out"
bin="$out/pvinject-smoke"
go build -o "$bin" ./ui/internal/smoke

# A free display number: the first without a lock file.
disp=99
while [ -e "/tmp/.X$disp-lock" ]; do disp=$((disp + 1)); done
Xvfb ":$disp" -screen 0 1920x1080x24 -nolisten tcp >"$out/xvfb.log" 2>&1 &
xvfb=$!
app=
cleanup() {
  [ -n "$app" ] && kill -9 "$app" 2>/dev/null || true # a failing walk must not hang on a program stuck quitting
  kill "$xvfb" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT
export DISPLAY=":$disp"
# A loaded machine can take seconds to bring Xvfb up: wait for it (30 s at
# most) rather than start the program on a display that is not there yet.
for _ in $(seq 600); do xdpyinfo >/dev/null 2>&1 && break || sleep 0.05; done 2>/dev/null
xdpyinfo >/dev/null 2>&1 || { echo "$(basename "$0"): FAIL: Xvfb on $DISPLAY did not come up in 30 s" >&2; exit 1; }

answers=$(mktemp --suffix=.json)
cat >"$answers" <<'JSON'
{"version": 1, "drivers": "/srv/virtio-win-0.1.285.iso", "set": "virtio-win",
 "output": "{dir}/{name}-pv.qcow2", "format": "qcow2", "mtu": 9000, "write_cache": "keep"}
JSON
rm -f /tmp/pvinject-demo/demo-win10-pv.qcow2

source scripts/gui-lib.sh # the working directory is the repository root

t0=$(date +%s%N)
"$bin" -demo -answers "$answers" -auto-apply 2s >"$out/smoke.log" 2>&1 &
app=$!
wait_window gui-smoke "$app" "$out/smoke.log"
t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
title=$(xdotool getwindowname "$wid")
echo "gui-smoke: first window \"$title\" after $ms ms"
# First paint: the window shows something other than one flat colour.
for _ in $(seq 1000); do
  import -window "$wid" "$out/first-paint.png" 2>/dev/null && ! blank "$out/first-paint.png" && break
  sleep 0.01
done
t2=$(date +%s%N)
paint=$(( (t2 - t0) / 1000000 ))
echo "gui-smoke: first paint after $paint ms"
printf 'first_window_ms %s\nfirst_paint_ms %s\n' "$ms" "$paint" >"$out/timing.txt"

shot() { # shot NAME [WAIT]: screenshot the window, retrying until it is painted
  local f="$out/$1.png" i
  sleep "${2:-0.6}"
  for i in $(seq 20); do
    import -window "$wid" "$f" 2>/dev/null && ! blank "$f" && break
    sleep 0.25
  done
  if blank "$f"; then echo "gui-smoke: FAIL: $f is blank" >&2; exit 1; fi
  echo "gui-smoke: $f ok (standard deviation $(identify -format '%[fx:standard_deviation]' "$f"))"
}
next() { xdotool windowfocus --sync "$wid" 2>/dev/null || true; xdotool key --window "$wid" Return; }

shot step1-image 1
for s in step2-guest step3-compatibility step4-drivers step5-options step6-review; do
  next
  shot "$s"
done
# The smoke program presses Apply 2 s after step 6; the fake takes ~1 s.
shot step6-report 3.5
grep -q "window up" "$out/smoke.log" && sed -n 's/^smoke: //p' "$out/smoke.log"
echo "gui-smoke: fake-engine walk PASS"
end_app "$app"
app=

# Quitting never loses a write and never hangs (ui/quit.go).
# quit_within NAME LOG SECONDS: SIGTERM to $app, which must be gone within
# SECONDS; says how long it took.
quit_within() {
  local name=$1 log=$2 limit=$3 t0 ms
  t0=$(date +%s%N)
  kill -TERM "$app" 2>/dev/null || { cat "$log" >&2; echo "gui-smoke: FAIL: $name: the program ended before it was sent SIGTERM" >&2; exit 1; }
  for _ in $(seq $((limit * 20))); do kill -0 "$app" 2>/dev/null || break; sleep 0.05; done
  if kill -0 "$app" 2>/dev/null; then
    cat "$log" >&2
    echo "gui-smoke: FAIL: $name: still running $limit s after SIGTERM" >&2
    exit 1
  fi
  wait "$app" 2>/dev/null || true
  app=
  ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  echo "gui-smoke: $name: gone $ms ms after SIGTERM"
}
# SIGTERM (a logout) while the image is being written: the write is stopped
# at a consistent point before the process ends, and says so. The fake
# engine takes 3 s per apply action, so the signal lands mid-write.
"$bin" -demo -answers "$answers" -auto-apply 100ms -step-delay 3s >"$out/quit-apply.log" 2>&1 &
app=$!
wait_window gui-smoke "$app" "$out/quit-apply.log"
# Enter until step 6 shows (a press that lands while Next is still disabled
# is lost, so presses are not counted), then wait for the smoke program's
# own Apply.
for _ in $(seq 60); do grep -q "smoke: step 6" "$out/quit-apply.log" && break; next; sleep 0.5; done
for _ in $(seq 400); do grep -q "smoke: apply running" "$out/quit-apply.log" && break; sleep 0.05; done
grep -q "smoke: apply running" "$out/quit-apply.log" || { cat "$out/quit-apply.log" >&2; echo "gui-smoke: FAIL: quit-apply: Apply never started" >&2; exit 1; }
quit_within quit-apply "$out/quit-apply.log" 15
if ! grep -q "^pvinject: Stopped: .* was left as it was before" "$out/quit-apply.log"; then
  cat "$out/quit-apply.log" >&2
  echo "gui-smoke: FAIL: quit-apply: the write in progress was not stopped and settled before the process ended" >&2
  exit 1
fi
grep "^pvinject: Stopped" "$out/quit-apply.log" | sed 's/^/gui-smoke: quit-apply: /'
# Fyne stuck on its way out (as Fyne 2.7 sometimes is): the process leaves
# by itself once the image is settled, 5 s after the signal.
"$bin" -demo -hang-on-quit >"$out/quit-hang.log" 2>&1 &
app=$!
wait_window gui-smoke "$app" "$out/quit-hang.log"
for _ in $(seq 200); do grep -q "holding Fyne's main loop" "$out/quit-hang.log" && break; sleep 0.05; done
grep -q "holding Fyne's main loop" "$out/quit-hang.log" || { cat "$out/quit-hang.log" >&2; echo "gui-smoke: FAIL: quit-hang: the hang was not simulated" >&2; exit 1; }
quit_within quit-hang "$out/quit-hang.log" 15 # 5 s of grace, the rest for a loaded host
echo "gui-smoke: quitting PASS (a write stopped cleanly; a stuck shutdown left within the grace)"

# Then the real binary over the real core, on the same display; its failure
# fails this script (set -e).
t3=$(date +%s)
scripts/gui-real.sh "$out"
echo "gui-smoke: real-binary walk took $(( $(date +%s) - t3 )) s"
echo "gui-smoke: PASS (fake-engine walk and real binary), screenshots in $out"
