// Package bootcheck decides, from the bytes of a Windows disk image alone,
// what Windows will do at its next boot on each storage bus a hypervisor
// can offer (virtio-blk, virtio-scsi, Xen PV storage, emulated IDE and
// AHCI), and whether a paravirtual NIC will have a driver.
//
// It re-reads the image fresh and shares no code with the injection
// planner (core/inject, core/drivers' selection): only the disk, partition,
// NTFS and hive readers. So a check after an injection is an independent
// second opinion on what the planner wrote, and the same check diagnoses an
// image another tool converted. The rules and their sources are in
// docs/BOOT-READINESS.md.
package bootcheck
