#!/usr/bin/env bash
# Builds the bundled demo (issue 6) from independent tools only, never from
# pvinject code:
#   assets/demo/demo-win10.qcow2.gz   a synthetic Windows 10 Pro 22H2 x64 on
#       an MBR disk (64 MiB virtual): partition 1 "System Reserved" NTFS,
#       partition 2 the Windows NTFS volume. Made with sfdisk, mkntfs, a real
#       ntfs-3g mount, hivexregedit --merge of .reg text into the corpus's
#       empty hive, then qemu-img convert to qcow2 and gzip -9.
#   assets/demo/virtio-win-demo.iso.gz  a virtio-win-style ISO holding only
#       viostor, vioscsi and NetKVM for w10/amd64 (built INFs, stand-in .sys
#       with the right PE Machine, .cat signed by openssl), taken from the
#       tree scripts/fixtures/drivers.sh builds, packed with genisoimage.
# The Windows tree is not a real Windows: cmd.exe is a PE stand-in (amd64
# Machine) made by drivers.sh's PE generator; the hives hold just what guest
# detection, the matrix and an injection need (SYSTEM: Select,
# ControlSet001/002, a root DriverDatabase key; SOFTWARE: CurrentVersion and
# DevicePath).
#
# Usage:
#   scripts/make-demo.sh                 rebuild assets/demo/* (commit the result)
#   scripts/make-demo.sh --tree DIR      only write the Windows tree into DIR
#                                        (used by scripts/fixtures/inspect.sh)
# Needs the shared corpus for the empty hive (reg/virt-v2v_minimal-hive);
# set PVINJECT_CORPUS when it is not at ../shared/corpus.
set -euo pipefail
export PATH=$PATH:/usr/sbin:/sbin
here=$(cd "$(dirname "$0")" && pwd)
source "$here/fixtures/lib.sh"
need python3 hivexregedit sfdisk mkntfs ntfs-3g qemu-img genisoimage gzip openssl
corpus=$(realpath -m "${PVINJECT_CORPUS:-$here/../../shared/corpus}")
minimal=$corpus/reg/virt-v2v_minimal-hive
[ -f "$minimal" ] || { echo "make-demo: $minimal missing (the empty hive the .reg text merges into; set PVINJECT_CORPUS)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The driver tree (and its PE stand-ins) from the drivers fixture machinery.
drivers_tree() {
  [ -d "$work/drv/virtio-tree" ] && return
  mkdir -p "$work/drv"
  bash "$here/fixtures/drivers.sh" "$work/drv" >/dev/null
}

hexstr() { # hexstr TYPE STRING: hivexregedit hex(TYPE) of a UTF-16LE string
  python3 -c 'import sys; b=sys.argv[2].encode("utf-16-le")+b"\0\0"; print("hex(%s):" % sys.argv[1] + ",".join("%02x" % c for c in b))' "$1" "$2"
}

# with_ancestors: hivexregedit creates a key only under an existing parent,
# so emit an empty section for every missing ancestor first.
with_ancestors() {
  python3 -c '
import sys
seen = set()
for line in sys.stdin:
    if line.startswith("[") and line.rstrip().endswith("]"):
        parts = line.strip()[1:-1].split("\\")
        for i in range(3, len(parts)):
            k = "\\".join(parts[:i])
            if k not in seen:
                seen.add(k)
                print("[%s]\n" % k)
        seen.add("\\".join(parts))
    sys.stdout.write(line)
'
}

system_reg() {
  local cs
  echo 'Windows Registry Editor Version 5.00'
  echo
  printf '[HKEY_LOCAL_MACHINE\\SYSTEM\\Select]\n"Current"=dword:00000001\n"Default"=dword:00000001\n"LastKnownGood"=dword:00000002\n"Failed"=dword:00000000\n\n'
  for cs in ControlSet001 ControlSet002; do
    cat <<EOF
[HKEY_LOCAL_MACHINE\\SYSTEM\\$cs\\Control\\Session Manager\\Environment]
"PROCESSOR_ARCHITECTURE"="AMD64"
"NUMBER_OF_PROCESSORS"="2"
"OS"="Windows_NT"

[HKEY_LOCAL_MACHINE\\SYSTEM\\$cs\\Control\\Session Manager\\Power]
"HiberbootEnabled"=dword:00000000

[HKEY_LOCAL_MACHINE\\SYSTEM\\$cs\\Control\\CrashControl]
"AutoReboot"=dword:00000001

[HKEY_LOCAL_MACHINE\\SYSTEM\\$cs\\Control\\TimeZoneInformation]
"RealTimeIsUniversal"=dword:00000000

[HKEY_LOCAL_MACHINE\\SYSTEM\\$cs\\Services\\storahci]
"Type"=dword:00000001
"Start"=dword:00000000
"ErrorControl"=dword:00000003
"ImagePath"=$(hexstr 2 'System32\drivers\storahci.sys')
"Group"="SCSI Miniport"

[HKEY_LOCAL_MACHINE\\SYSTEM\\$cs\\Control\\ServiceGroupOrder]
"List"=$(python3 -c 'g=["System Reserved","EMS","WdfLoadGroup","Boot Bus Extender","System Bus Extender","SCSI miniport","Port","Primary Disk","SCSI Class","SCSI CDROM Class","Filter","Boot File System","Base","File System","NDIS Wrapper","Event Log","NDIS","TDI","Extended Base"]; b=b"".join(x.encode("utf-16-le")+b"\0\0" for x in g)+b"\0\0"; print("hex(7):"+",".join("%02x"%c for c in b))')

[HKEY_LOCAL_MACHINE\\SYSTEM\\$cs\\Services\\Tcpip\\Parameters]
"Hostname"="DEMO-WIN10"

EOF
  done
  cat <<'EOF'
[HKEY_LOCAL_MACHINE\SYSTEM\DriverDatabase]
"SystemRoot"="\\SystemRoot"
"Architecture"=dword:00000009

[HKEY_LOCAL_MACHINE\SYSTEM\DriverDatabase\DriverInfFiles]

[HKEY_LOCAL_MACHINE\SYSTEM\DriverDatabase\DeviceIds]

[HKEY_LOCAL_MACHINE\SYSTEM\DriverDatabase\DriverPackages]

EOF
}

software_reg() {
  cat <<EOF
Windows Registry Editor Version 5.00

[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion]
"ProductName"="Windows 10 Pro"
"CurrentVersion"="6.3"
"CurrentMajorVersionNumber"=dword:0000000a
"CurrentMinorVersionNumber"=dword:00000000
"CurrentBuildNumber"="19045"
"CurrentBuild"="19045"
"UBR"=dword:00000ed4
"DisplayVersion"="22H2"
"EditionID"="Professional"
"InstallationType"="Client"
"SystemRoot"="C:\\\\Windows"
"RegisteredOwner"="pvinject demo"

[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion]
"DevicePath"=$(hexstr 2 '%SystemRoot%\inf')
"ProgramFilesDir"="C:\\\\Program Files"

[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall]

EOF
}

# build_tree DIR: the Windows volume's content.
build_tree() {
  local root=$1 cfg
  drivers_tree
  cfg=$root/Windows/System32/config
  mkdir -p "$cfg" "$root/Windows/System32/drivers" "$root/Windows/System32/DriverStore/FileRepository" \
    "$root/Windows/INF" "$root/Windows/Temp" "$root/Program Files" "$root/Users/Public/Documents"
  # drivers.sh's amd64 PE stand-in: only its COFF Machine matters to detection.
  cp "$work/drv/virtio-tree/viostor/w10/amd64/viostor.sys" "$root/Windows/System32/cmd.exe"
  cp "$work/drv/virtio-tree/viostor/w10/amd64/viostor.sys" "$root/Windows/System32/drivers/storahci.sys"
  system_reg | with_ancestors >"$work/system.reg"
  software_reg | with_ancestors >"$work/software.reg"
  cp "$minimal" "$cfg/SYSTEM" && chmod u+w "$cfg/SYSTEM"
  cp "$minimal" "$cfg/SOFTWARE" && chmod u+w "$cfg/SOFTWARE"
  hivexregedit --merge --prefix 'HKEY_LOCAL_MACHINE\SYSTEM' "$cfg/SYSTEM" "$work/system.reg"
  hivexregedit --merge --prefix 'HKEY_LOCAL_MACHINE\SOFTWARE' "$cfg/SOFTWARE" "$work/software.reg"
  printf 'pvinject demo: a synthetic Windows 10 stand-in, not a bootable Windows.\r\n' >"$root/Users/Public/Documents/README.txt"
}

if [ "${1:-}" = --tree ]; then
  mkdir -p "$2"
  build_tree "$(realpath "$2")"
  exit 0
fi

out=$here/../assets/demo
mkdir -p "$out"

# --- the disk: 64 MiB, MBR, System Reserved (8 MiB) + Windows (rest) ---
disk=$work/demo-win10.raw
truncate -s 64M "$disk"
printf 'label: dos\nlabel-id: 0x0de30010\nstart=2048, size=16384, type=7, bootable\nstart=18432, size=112640, type=7\n' | sfdisk -q "$disk"
mkvol() { # SECTORS LABEL CALLBACK START
  local vol=$work/vol
  rm -f "$vol"
  truncate -s $(($1 * 512)) "$vol"
  mkntfs -q -F -Q -s 512 -p "$4" -H 255 -S 63 -L "$2" "$vol" >/dev/null
  with_ntfs_mount "$vol" "$3"
  place_volume "$disk" "$vol" "$4"
}
fill_reserved() { mkdir -p "$1/Boot"; printf 'stand-in\n' >"$1/bootmgr"; }
# The tree is built outside the mount so that a failing tool stops the script
# (with_ntfs_mount runs its callback with errexit off).
build_tree "$work/tree"
fill_windows() { cp -r "$work/tree/." "$1/"; }
mkvol 16384 "System Reserved" fill_reserved 2048
mkvol 112640 Windows fill_windows 18432

qemu-img convert -q -f raw -O qcow2 -o compat=1.1 "$disk" "$work/demo-win10.qcow2"
gzip -9 -n -c "$work/demo-win10.qcow2" >"$out/demo-win10.qcow2.gz"

# --- the driver set: viostor, vioscsi, NetKVM for w10/amd64 only ---
drivers_tree
iso=$work/iso
for d in viostor vioscsi NetKVM; do
  mkdir -p "$iso/$d/w10"
  cp -r "$work/drv/virtio-tree/$d/w10/amd64" "$iso/$d/w10/amd64"
  rm -f "$iso/$d/w10/amd64/"*.pdb
done
printf 'pvinject demo driver set: virtio-win layout, stand-in drivers (not real drivers).\n' >"$iso/README.txt"
genisoimage -quiet -J -R -V VIRTIO-WIN-DEMO -o "$work/virtio-win-demo.iso" "$iso"
gzip -9 -n -c "$work/virtio-win-demo.iso" >"$out/virtio-win-demo.iso.gz"

ls -l "$out"
