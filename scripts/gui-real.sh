#!/usr/bin/env bash
# Real-window walk of the real binary (cmd/pvinject over the real core)
# under Xvfb, driven by the keyboard alone (xdotool key and type, no mouse),
# through the cases of issue 11, with a screenshot per step in OUTDIR:
#
#   demo       the bundled demo from step 1 to a verified Apply with Tab,
#              Enter and Space only; the window measured at FYNE_SCALE=1.5
#   hiber      a hibernated guest whose cmd.exe is also damaged: stopped on
#              step 2 with both blockers listed, Next disabled
#   dirty      a dirty SYSTEM hive without its logs: stopped on step 2
#   unsigned   unsigned drivers on 64-bit Windows: consent on step 4, the
#              warning on the last page and in the saved report
#   nonetkvm   a driver source without NetKVM: said on step 4 and in the report
#   reopen     two copies of a guest injected in place by the command line,
#              opened again: Roll back and Keep offered; Keep drops the
#              journal and keeps the drivers, Roll back restores the image
#              byte for byte (cmp)
#   dual       two Windows on one disk: the second, chosen on step 2, is the
#              one written (ntfscat + hivexget on each partition)
#   passwd     /etc/passwd: stopped on step 1
#   network    a guest with one static network adapter (added to its SYSTEM
#              hive with hivexregedit): the Options step lists it, checked,
#              and the saved report carries its address to the new adapter
#
# hiber and dirty run in the light theme, the others in the dark one.
# Where it is, the wizard's state is read from its debug log (the ui package
# writes "ui: step", "ui: next", "ui: focus", "ui: finding shown" and "ui:
# report shown" records), and what was written from the files with
# independent tools. Fixtures come from scripts/fixtures/inject.sh, built
# into testdata/gen/inject as the Go tests build them (same stamp).
#
# Runs on $DISPLAY when the caller set it (scripts/gui-smoke.sh passes its
# Xvfb), else on its own 1920x1080 Xvfb. Needs: Xvfb, xdotool, ImageMagick,
# qemu-img, ntfs-3g (ntfscat), hivex (hivexget), Go with cgo and GL/X11.
# Usage: scripts/gui-real.sh [OUTDIR] [CASE...]
set -Eeuo pipefail
# Every way this script fails says FAIL and where, even a command that ends
# it through set -e without a word of its own.
trap 'rc=$?; echo "gui-real: ${case:-setup}: FAIL: line $LINENO: \"$BASH_COMMAND\" exited $rc" >&2' ERR
export PATH=$PATH:/usr/sbin:/sbin
cd "$(dirname "$0")/.."
root=$PWD
out=${1:-artifacts/gui}
shift || true
# nonetkvm last: a failing case stops the walk, and it needs a finding the
# core does not make yet.
cases=${*:-demo hiber dirty unsigned reopen dual passwd network nonetkvm}
for c in Xvfb xdotool xwininfo import identify compare go qemu-img ntfscat ntfscp hivexget hivexregedit sfdisk python3; do
  command -v "$c" >/dev/null || { echo "gui-real: missing $c (apt-get install -y xvfb xdotool x11-utils imagemagick qemu-utils ntfs-3g libhivex-bin)" >&2; exit 2; }
done
mkdir -p "$out"
out=$(realpath "$out")
bin="$out/pvinject"
go build -o "$bin" ./cmd/pvinject

# The fixtures, as testenv.Fixture builds them: rebuilt when the script or
# its library changed (the stamp is their hash).
fix=${PVINJECT_FIXTURES:-$root/testdata/gen}/inject
stamp=$(cat scripts/fixtures/inject.sh scripts/fixtures/lib.sh | sha256sum | cut -d' ' -f1)
if [ "$(cat "$fix/.stamp" 2>/dev/null)" != "$stamp" ]; then
  echo "gui-real: building the fixtures in $fix"
  rm -rf "$fix" && mkdir -p "$fix"
  (exec 9>"$fix.lock"; flock 9; bash scripts/fixtures/inject.sh "$fix" >"$out/fixtures.log" 2>&1) || { tail -20 "$out/fixtures.log" >&2; exit 1; }
  echo "$stamp" >"$fix/.stamp"
fi

tmp=$(mktemp -d)
xvfb=
app=
cleanup() {
  [ -n "$app" ] && kill -9 "$app" 2>/dev/null || true # a failing walk must not hang on a program stuck quitting
  [ -n "$xvfb" ] && kill "$xvfb" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
if [ -z "${DISPLAY:-}" ]; then
  disp=99
  while [ -e "/tmp/.X$disp-lock" ]; do disp=$((disp + 1)); done
  Xvfb ":$disp" -screen 0 1920x1080x24 -nolisten tcp >"$out/xvfb-real.log" 2>&1 &
  xvfb=$!
  export DISPLAY=":$disp"
  # A loaded machine can take seconds to bring Xvfb up: wait for it (30 s at
  # most) rather than start the program on a display that is not there yet.
  for _ in $(seq 600); do xdpyinfo >/dev/null 2>&1 && break || sleep 0.05; done 2>/dev/null
  xdpyinfo >/dev/null 2>&1 || { echo "$(basename "$0"): FAIL: Xvfb on $DISPLAY did not come up in 30 s" >&2; exit 1; }
fi
source scripts/gui-lib.sh # the working directory is the repository root

passed=
fail() { echo "gui-real: $case: FAIL: $*" >&2; echo "gui-real: passed before it: ${passed:-none}" >&2; [ -n "${log:-}" ] && grep 'ui: ' "$log" | tail -15 >&2; exit 1; }

# start CASE ARGS...: the binary with a private HOME and cache (the demo
# unpacks there) and its debug log in OUTDIR; waits for its window.
start() {
  case=$1; shift
  log="$out/$case-debug.log"
  rm -f "$log"
  t0=$(date +%s%N)
  HOME="$tmp/home" XDG_CACHE_HOME="$tmp/home/.cache" XDG_CONFIG_HOME="$tmp/home/.config" \
    PVINJECT_DEBUG_LOG="$log" FYNE_SCALE=${SCALE:-1} FYNE_THEME=${THEME:-dark} "$bin" "$@" >"$out/$case.out" 2>&1 &
  app=$!
  wait_window "gui-real $case" "$app" "$out/$case.out"
  xdotool windowfocus --sync "$wid" 2>/dev/null || true
  shotn=0
}
stop() {
  end_app "$app"
  app=
  echo "gui-real: $case: PASS in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
  passed="$passed $case"
  printf '%s_ms %s\n' "$case" $(( ($(date +%s%N) - t0) / 1000000 )) >>"$out/real-timing.txt"
}
# wait_log REGEX [SECONDS]: until a debug log record matches.
wait_log() {
  local i
  for i in $(seq $(( ${2:-20} * 20 ))); do
    grep -Eq -- "$1" "$log" 2>/dev/null && return 0
    kill -0 "$app" 2>/dev/null || fail "the program exited (waiting for /$1/)"
    sleep 0.05
  done
  fail "no /$1/ in the debug log within ${2:-20} s"
}
# next_is REGEX [SECONDS]: until the latest Next state matches, e.g.
# 'step=4 enabled=true'.
next_is() {
  local i
  for i in $(seq $(( ${2:-20} * 20 ))); do
    grep 'msg="ui: next"' "$log" 2>/dev/null | tail -1 | grep -Eq -- "$1" && return 0
    kill -0 "$app" 2>/dev/null || fail "the program exited (waiting for Next /$1/)"
    sleep 0.05
  done
  fail "Next is not /$1/ within ${2:-20} s"
}
step_is() { next_is "state=\"step=$1 " "${2:-20}"; }
key() { xdotool key --delay 40 "$@"; }
# shot NAME [WAIT]: screenshot the window once it is painted.
shot() {
  local f
  shotn=$((shotn + 1))
  f="$out/$case-$shotn-$1.png"
  sleep "${2:-0.5}"
  for _ in $(seq 20); do
    import -window "$wid" "$f" 2>/dev/null && ! blank "$f" && break
    sleep 0.25
  done
  blank "$f" && fail "$f is blank"
  true
}
# focus KIND NAME: Tab until the control named NAME has the focus. Only
# buttons and tick boxes log their focus, so after a Tab that lands on
# anything else the wait for a record runs out (1 s: a loaded host can take
# that long to handle a key, and a Tab pressed before the last one was
# handled would overshoot).
focus() {
  local i n
  for i in $(seq 40); do
    n=$(grep -c 'msg="ui: focus"' "$log" || true)
    key Tab
    for _ in $(seq 20); do [ "$(grep -c 'msg="ui: focus"' "$log" || true)" != "$n" ] && break; sleep 0.05; done
    grep 'msg="ui: focus"' "$log" | tail -1 | grep -Eq -- "$1=\"?$2" && return 0
  done
  fail "Tab never reached $1 \"$2\""
}
# apply_and_wait: Tab to Apply, press Enter, wait for the verified report.
apply_and_wait() {
  step_is 6
  focus button Apply
  key Return
  wait_log 'msg="ui: report shown" verified=true' 90
}
# report_file: the report the run saved beside the image.
report_file() { grep 'msg="ui: report shown"' "$log" | tail -1 | sed -n 's/.* saved=\([^ ]*\) .*/\1/p'; }
# output_image: the image the last Apply wrote.
output_image() { grep 'msg="ui: report shown"' "$log" | tail -1 | sed -n 's/.* image=\([^ ]*\) .*/\1/p'; }
# stays_on N: Enter does not leave step N (Next is disabled).
stays_on() {
  key Return
  sleep 0.8
  grep -q "msg=\"ui: step\" n=$(($1 + 1))" "$log" && fail "Enter left step $1"
  true
}
# static_nic IMAGE: gives the guest of IMAGE's first partition one static
# network adapter ("Ethernet0", 192.168.10.20/24) in its current control set,
# with ntfscat, hivexregedit and ntfscp (never pvinject).
static_nic() {
  local img=$1 start size vol=$tmp/nic-vol sys=$tmp/nic-SYSTEM reg=$tmp/nic.reg cs
  read -r start size < <(sfdisk -J "$img" | python3 -c 'import json,sys; p=json.load(sys.stdin)["partitiontable"]["partitions"][0]; print(p["start"], p["size"])')
  dd if="$img" of="$vol" bs=512 skip="$start" count="$size" conv=sparse status=none
  ntfscat "$vol" /Windows/System32/config/SYSTEM >"$sys"
  cs=$(printf 'ControlSet%03d' "$(hivexget "$sys" Select Current)")
  python3 - "$cs" >"$reg" <<'PY'
import sys
cs = sys.argv[1]
guid = '{11111111-2222-3333-4444-555555555555}'
inst = r'PCI\VEN_8086&DEV_100F&SUBSYS_075015AD&REV_01\4&3ad87e0a&0&0888'
cls = r'Control\Class\{4d36e972-e325-11ce-bfc1-08002be10318}'
def multi(*ss):
    b = b''.join(s.encode('utf-16-le') + b'\0\0' for s in ss) + b'\0\0'
    return 'hex(7):' + ','.join('%02x' % x for x in b)
q = lambda s: '"%s"' % s.replace('\\', '\\\\')
keys = {
    cls + r'\0007': [('DriverDesc', q('Intel(R) PRO/1000 MT Network Connection')), ('NetCfgInstanceId', q(guid)),
                       ('MatchingDeviceId', q(r'pci\ven_8086&dev_100f')), ('ComponentId', q(r'pci\ven_8086&dev_100f')),
                       ('Characteristics', 'dword:00000084')],
    r'Control\Network\{4D36E972-E325-11CE-BFC1-08002BE10318}\%s\Connection' % guid: [('Name', q('Ethernet0')), ('PnpInstanceID', q(inst))],
    'Enum\\' + inst: [('HardwareID', multi(r'PCI\VEN_8086&DEV_100F&SUBSYS_075015AD&REV_01', r'pci\ven_8086&dev_100f')),
                       ('Service', q('E1G60')), ('Driver', q(r'{4d36e972-e325-11ce-bfc1-08002be10318}\0007')), ('ConfigFlags', 'dword:00000000')],
    r'Services\Tcpip\Parameters\Interfaces' + '\\' + guid: [('EnableDHCP', 'dword:00000000'), ('IPAddress', multi('192.168.10.20')),
                       ('SubnetMask', multi('255.255.255.0')), ('DefaultGateway', multi('192.168.10.1')),
                       ('DefaultGatewayMetric', multi('0')), ('NameServer', q('192.168.10.2'))],
}
for k in list(keys):
    parts = k.split('\\')
    for i in range(1, len(parts)):
        keys.setdefault('\\'.join(parts[:i]), [])
out = ['Windows Registry Editor Version 5.00', '']
for k in sorted(keys, key=lambda k: k.lower().split('\\')):
    out.append('[HKEY_LOCAL_MACHINE\\SYSTEM\\%s\\%s]' % (cs, k))
    out += ['"%s"=%s' % (n, v) for n, v in keys[k]]
    out.append('')
sys.stdout.write('\r\n'.join(out))
PY
  hivexregedit --merge --prefix 'HKEY_LOCAL_MACHINE\SYSTEM' "$sys" "$reg"
  [ "$(hivexget "$sys" "$cs\Services\Tcpip\Parameters\Interfaces\{11111111-2222-3333-4444-555555555555}" EnableDHCP)" = 0 ] || fail "the static adapter was not written into the hive"
  ntfscp -f "$vol" "$sys" /Windows/System32/config/SYSTEM >/dev/null
  dd if="$vol" of="$img" bs=512 seek="$start" conv=notrunc,sparse status=none
}
blockers() { grep 'msg="ui: finding shown" text="Blocker:' "$log" | sed 's/.*text="//' | sort -u; }

img() { # img NAME: a private copy of a fixture disk, in a folder of the case's own
  mkdir -p "$tmp/$case"
  cp --sparse=always "$fix/disks/$1" "$tmp/$case/$1"
  echo "$tmp/$case/$1"
}
mkdir -p "$tmp/home"
rm -f "$out/real-timing.txt" "$out"/*.png

for case in $cases; do
  case $case in
  demo)
    # At 150% on 1920x1080 the whole window, Back and Next included, is on
    # the screen; then Tab, Enter and Space alone take it to a verified Apply.
    SCALE=1.5 start demo --demo
    step_is 1
    ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    printf 'real_first_window_ms %s\n' "$ms" >>"$out/real-timing.txt"
    wait_log 'msg="ui: window"'
    sleep 0.3
    eval "$(xwininfo -id "$wid" | awk '/Absolute upper-left X/{print "x="$NF} /Absolute upper-left Y/{print "y="$NF} /Width:/{print "w="$NF} /Height:/{print "h="$NF}')"
    read -r sw sh < <(xdpyinfo | awk '/dimensions:/{split($2,a,"x"); print a[1], a[2]}')
    echo "gui-real: demo: window ${w}x${h} at ${x},${y} on a ${sw}x${sh} screen at FYNE_SCALE=1.5"
    printf 'window_at_1.5 %sx%s+%s+%s screen %sx%s\n' "$w" "$h" "$x" "$y" "$sw" "$sh" >>"$out/real-timing.txt"
    [ $((x + w)) -le "$sw" ] && [ $((y + h)) -le "$sh" ] || fail "the window ${w}x${h}+${x}+${y} does not fit ${sw}x${sh}"
    step_is 1 && next_is 'step=1 enabled=true'
    shot image
    focus button Next # Tab reaches Next ...
    key space         # ... and Space presses it
    step_is 2; shot guest
    key Return; step_is 3; shot compat
    key Return; next_is 'step=4 enabled=true' 30; shot drivers
    key Return; step_is 5; shot options
    focus button Back; key Return; step_is 4 # Back by Tab and Enter
    focus button Next; key space; step_is 5  # Next by Tab and Space
    focus button Next; key Return; step_is 6; shot review
    apply_and_wait; shot report 4
    demo_out=$(output_image)
    [ -f "$demo_out" ] || fail "no output image $demo_out"
    qemu-img check -q "$demo_out" || fail "qemu-img check $demo_out"
    # A new image has no journal: its undo is deleting it.
    ls "$(dirname "$demo_out")"/*.pvinject-journal >/dev/null 2>&1 && fail "a journal beside the new image $demo_out"
    stop
    ;;
  hiber | dirty)
    if [ "$case" = hiber ]; then image=$(img hiber-badcmd-2k22.raw); want=2; else image=$(img dirty-10-x86.raw); want=1; fi
    THEME=light start "$case" "$image" # these two in the light theme
    next_is 'step=1 enabled=true'
    shot image
    key Return
    next_is 'step=2 enabled=false' 30
    shot guest-blocked
    n=$(blockers | wc -l)
    echo "gui-real: $case: $n blockers on step 2:"; blockers | sed 's/^/    /'
    [ "$n" -ge "$want" ] || fail "$n blockers on step 2, want at least $want"
    stays_on 2
    stop
    ;;
  unsigned | nonetkvm)
    drivers="$tmp/$case-drivers"
    cp -r "$fix/drivers/virtio-tree" "$drivers"
    if [ "$case" = unsigned ]; then find "$drivers" -name '*.cat' -delete; else rm -rf "$drivers/NetKVM"; fi
    image=$(img 11-x64.raw)
    start "$case" "$image"
    next_is 'step=1 enabled=true'
    key Return; step_is 2
    key Return; step_is 3
    key Return; step_is 4; sleep 0.3
    xdotool type --delay 5 "$drivers" # the path field has the focus
    key Return
    if [ "$case" = unsigned ]; then
      wait_log 'msg="ui: plan shown" .*consent=true' 30
      shot drivers-consent
      focus check "Allow unsigned"
      key space
      next_is 'step=4 enabled=true' 30
      shot drivers-consented
      key Return # Enter on the tick box is Next
    else
      next_is 'step=4 enabled=true' 30
      grep -iq 'msg="ui: finding shown" text="[^"]*netkvm' "$log" || fail "step 4 does not say NetKVM is missing"
      grep -i 'msg="ui: finding shown" text="[^"]*netkvm' "$log" | tail -1 | sed 's/.*text="/    step 4: /'
      shot drivers-nonetkvm
      focus button Next; key Return
    fi
    step_is 5; key Return
    step_is 6; shot review
    apply_and_wait; shot report 4
    rep=$(report_file)
    [ -f "$rep" ] || fail "no saved report ($rep)"
    if [ "$case" = unsigned ]; then
      # The last page lists the accepted warnings (logged as they are shown,
      # after the Apply step was entered) ...
      awk '/msg="ui: step" n=6/{f=1} f' "$log" | grep -Eiq 'finding shown" text="Warning: [^"]*(not signed|unsigned)' ||
        fail "the last page does not show the unsigned-driver warning"
      # ... and so must the report saved beside the image.
      grep -Eiq 'not signed|unsigned' "$rep" || fail "the saved report $rep does not mention the unsigned drivers"
      unsigned_out=$(output_image)
      unsigned_src=$image
    else
      grep -iq netkvm "$rep" || fail "the saved report does not mention NetKVM"
    fi
    stop
    ;;
  network)
    image=$(img 11-x64.raw)
    static_nic "$image"
    start "$case" "$image"
    next_is 'step=1 enabled=true'
    key Return; step_is 2
    key Return; step_is 3
    key Return; step_is 4; sleep 0.3
    xdotool type --delay 5 "$fix/drivers/virtio-tree" # the path field has the focus
    key Return
    next_is 'step=4 enabled=true' 30
    focus button Next; key Return
    step_is 5
    wait_log 'msg="ui: network shown" adapters="Ethernet0 192.168.10.20/24 carry=true' 20
    grep 'msg="ui: network shown"' "$log" | tail -1 | sed 's/.*adapters=/    step 5: /'
    # The section is below the fold: scroll to it (the mouse wheel only
    # moves the view), then screenshot it.
    xdotool mousemove --window "$wid" 700 500; for _ in $(seq 20); do xdotool click 5; done
    shot options-network
    focus button Next; key Return
    step_is 6; shot review
    apply_and_wait; shot report 4
    rep=$(report_file)
    [ -f "$rep" ] || fail "no saved report ($rep)"
    grep -q '192\.168\.10\.20' "$rep" || fail "the saved report does not carry 192.168.10.20"
    grep -q 'Ethernet0' "$rep" || fail "the saved report does not name the connection Ethernet0"
    stop
    ;;
  reopen)
    # Two copies of a guest injected in place by the command line (the only
    # way an image keeps a journal), then opened again in the wizard.
    src=$(img 11-x64.raw)
    keep_img=$tmp/reopen-keep.raw; roll_img=$tmp/reopen-roll.raw
    cp --sparse=always "$src" "$keep_img"; cp --sparse=always "$src" "$roll_img"
    for i in "$keep_img" "$roll_img"; do
      "$bin" inject --in-place --drivers "$fix/drivers/virtio-tree" "$i" >"$out/$case-inject.log" 2>&1 ||
        { cat "$out/$case-inject.log" >&2; fail "pvinject inject --in-place $i"; }
    done
    cp --sparse=always "$keep_img" "$tmp/keep-injected.raw"
    # Keep: the journal goes, the drivers stay.
    start reopen "$keep_img"
    wait_log 'msg="ui: finding shown"' 30
    shot journal-offered
    focus button "Roll back"
    focus button Keep
    key Return
    for _ in $(seq 100); do ls "$keep_img".pvinject-journal >/dev/null 2>&1 || break; sleep 0.1; done
    ls "$keep_img".pvinject-journal >/dev/null 2>&1 && fail "Keep left the journal"
    cmp -s "$tmp/keep-injected.raw" "$keep_img" || fail "Keep changed the image"
    next_is 'step=1 enabled=true' 30
    shot kept
    stop
    # Roll back: back to the original bytes.
    start reopen-rollback "$roll_img"
    wait_log 'msg="ui: finding shown"' 30
    shot journal-offered
    focus button Keep
    focus button "Roll back"
    key Return
    for _ in $(seq 200); do cmp -s "$src" "$roll_img" && break; sleep 0.1; done
    cmp -s "$src" "$roll_img" || fail "Roll back did not restore the image"
    shot rolled-back
    stop
    ;;
  dual)
    image=$(img dual-10-11.raw)
    start dual "$image"
    next_is 'step=1 enabled=true'
    key Return; step_is 2
    shot guest-choice
    key Tab Tab space # the second installation's radio button
    wait_log 'msg="ui: guest chosen" index=1'
    next_is 'step=2 enabled=true'
    shot guest-second
    focus button Next; key Return; step_is 3 # Enter on a radio button does nothing in Fyne
    key Escape; step_is 2; key alt+Right; step_is 3 # Esc is Back, Alt+Right is Next, from anywhere
    key Return; step_is 4; sleep 0.3
    xdotool type --delay 5 "$fix/drivers/virtio-tree"
    key Return
    next_is 'step=4 enabled=true' 30
    focus button Next; key Return
    step_is 5; key Return
    step_is 6; shot review
    apply_and_wait; shot report 4
    o=$(output_image)
    qemu-img convert -O raw "$o" "$tmp/dual.raw"
    # dual-10-11.raw: partition 1 from sector 2048, partition 2 from 96256,
    # 94208 sectors each (scripts/fixtures/inject.sh).
    dd if="$tmp/dual.raw" of="$tmp/p1" bs=512 skip=2048 count=94208 status=none
    dd if="$tmp/dual.raw" of="$tmp/p2" bs=512 skip=96256 count=94208 status=none
    ntfscat "$tmp/p2" /Windows/pvinject/firstboot.cmd >/dev/null 2>&1 || fail "partition 2 (the chosen Windows) has no first-boot runner"
    ntfscat "$tmp/p1" /Windows/pvinject/firstboot.cmd >/dev/null 2>&1 && fail "partition 1 (not chosen) was written"
    ntfscat "$tmp/p2" /Windows/System32/config/SYSTEM >"$tmp/SYSTEM2"
    start2=$(hivexget "$tmp/SYSTEM2" '\ControlSet001\Services\viostor' Start 2>/dev/null || true)
    [ -n "$start2" ] || fail "hivexget: no viostor service in partition 2's SYSTEM hive"
    echo "gui-real: dual: partition 2 written (viostor Start=$start2, firstboot.cmd present); partition 1 untouched"
    stop
    ;;
  passwd)
    start passwd /etc/passwd
    next_is 'step=1 enabled=false reason=\\"[A-Za-z]' 30
    wait_log 'msg="ui: finding shown" text="Blocker:' 20
    shot image-refused
    stays_on 1
    blockers | sed 's/^/    step 1: /'
    stop
    ;;
  *) echo "gui-real: unknown case $case" >&2; exit 2 ;;
  esac
done
echo "gui-real: PASS ($cases), screenshots in $out"
