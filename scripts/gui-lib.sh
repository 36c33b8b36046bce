# Shared by scripts/gui-smoke.sh and scripts/gui-real.sh (sourced, not run).

blank() { # blank FILE: true when the picture is one flat colour
  local sd
  sd=$(identify -format '%[fx:standard_deviation]' "$1")
  awk -v s="$sd" 'BEGIN { exit !(s < 0.02) }'
}

# wait_window NAME PID LOG: waits up to 30 s (a loaded host can be slow to
# map a window) for a visible window whose title starts with "pvinject" and
# sets wid to it; fails, showing LOG, if the program PID exits first or no
# window shows. Only PID's own windows count: the window of a program just
# ended can stay mapped for a moment, and a step driven through it fails.
wait_window() {
  local name=$1 pid=$2 log=$3
  local until=$((SECONDS + 30))
  wid=
  while [ "$SECONDS" -lt "$until" ]; do
    wid=$(xdotool search --onlyvisible --pid "$pid" --name '^pvinject' 2>/dev/null | head -1 || true)
    [ -n "$wid" ] && break
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; echo "$name: FAIL: program exited before its window showed" >&2; exit 1; }
    sleep 0.01
  done
  [ -n "$wid" ] || { echo "$name: FAIL: no window titled pvinject* within 30 s" >&2; exit 1; }
}

# end_app PID: asks the program to quit (SIGTERM, which Fyne turns into a
# quit) and waits for it, 10 s at most, then kills it. Fyne 2.7 can hang on
# the way out when a quit races a pending main-thread call (seen here once in
# a dozen runs, stuck in runOnMainWithWait); the wizard now leaves by itself
# 5 s after a signal (ui/quit.go, checked by gui-smoke's quit-hang case), so
# the kill is only a last guard: a test walk must never hang, and the case's
# own checks were all done before it is ended.
end_app() {
  local pid=$1
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  if kill -0 "$pid" 2>/dev/null; then
    echo "gui: pid $pid did not quit within 10 s of SIGTERM; killed" >&2
    kill -9 "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}
