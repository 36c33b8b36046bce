# Shared by scripts/gui-smoke.sh and scripts/gui-real.sh (sourced, not run).

blank() { # blank FILE: true when the picture is one flat colour
  local sd
  sd=$(identify -format '%[fx:standard_deviation]' "$1")
  awk -v s="$sd" 'BEGIN { exit !(s < 0.02) }'
}

# wait_window NAME PID LOG: waits up to 10 s for a visible window whose
# title starts with "pvinject" and sets wid to it; fails, showing LOG, if
# the program PID exits first or no window shows.
wait_window() {
  local name=$1 pid=$2 log=$3
  wid=
  for _ in $(seq 1000); do
    wid=$(xdotool search --onlyvisible --name '^pvinject' 2>/dev/null | head -1 || true)
    [ -n "$wid" ] && break
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; echo "$name: program exited before its window showed" >&2; exit 1; }
    sleep 0.01
  done
  [ -n "$wid" ] || { echo "$name: no window titled pvinject* within 10 s" >&2; exit 1; }
}
