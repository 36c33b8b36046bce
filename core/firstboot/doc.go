// Package firstboot generates the cmd.exe runner that finishes an offline
// driver injection on the guest's first boot: it installs the staged driver
// packages with the pnputil of that Windows, waits for Plug and Play, applies
// the NIC MTU and disk write-cache choices, logs to a file under %SystemRoot%,
// and removes itself.
//
// Why cmd.exe and a "start" service rather than a service wrapper binary:
// virt-v2v needs rhsrvany.exe or pvvxsvc.exe on the host (libguestfs-common
// mlcustomize/firstboot.ml) and errors out without one. pvinject ships no
// third-party binary and must reach Windows XP (no PowerShell, no Go
// runtime), so the service's ImagePath is cmd.exe itself: the Service Control
// Manager starts it as LocalSystem before anyone logs on, cmd detaches the
// runner with "start /b" and exits. The SCM then logs that the service did
// not report (event 7000/7009), which is cosmetic; ErrorControl 0 keeps it
// from being shown at logon.
//
// Lessons from virt-v2v's users that shape the script:
//   - "Sysnative\PnPutil not found" reboot loops (libguestfs/virt-v2v#159):
//     pnputil is chosen by the runner's own bitness, and its absence (XP,
//     2003) is not an error: Plug and Play finds drivers through DevicePath.
//   - One failing INF kept the runner retrying forever (virt-v2v#178):
//     retries are bounded across boots, optional packages are non-fatal, and
//     the runner always removes itself in the end.
//   - Exit code 259 (ERROR_NO_MORE_ITEMS) from pnputil means a better driver
//     is already installed, which is success (libguestfs commit 523aff28).
package firstboot
