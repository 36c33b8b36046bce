// Package inject turns a detected Windows guest and a driver source into an
// inert, reviewable Plan (every file and registry value it will write, old
// and new, each with the reason and the source document that calls for it),
// applies the plan to the disk image as one journaled transaction, verifies
// it by re-reading the image, and writes a report.
//
// What the plan writes follows the proven offline injectors (virt-v2v and
// virt-customize --inject-virtio-win; see injection-facts.md in the shared
// docs, cited per operation as "facts §N"), improved where their users hit
// failures:
//
//   - Boot-critical storage (viostor, vioscsi, xenvbd...) is pre-seeded:
//     the .sys in System32\drivers, Services\<drv> in EVERY ControlSetNNN
//     (virt-v2v writes only the current one; LastKnownGood boots would
//     7B), StartOverride deleted (facts §2.6), and either
//     CriticalDeviceDatabase entries (no root DriverDatabase key: Windows
//     7/2008 R2 and older) or the DriverDatabase set (Windows 8/2012 and
//     later) with DriverPackages\<label>\Version filled from the INF, not
//     zeros (the seed virt-v2v patch: without it Windows 10/2016 kernel PnP
//     installs a null driver and the second boot fails with 0x7B).
//   - Every package (the storage one too) is staged under
//     %SystemRoot%\pvinject\drivers\<pkg>\ and installed at first boot by the
//     core/firstboot runner, started by a pvinject-firstboot service.
//   - Old PV stacks leaving (Xen PV, VMware, Parallels, old virtio) are
//     disabled (Start=4) and removed from Class Upper/LowerFilters, never
//     deleted, so rolling back or uninstalling them still works.
//
// Transaction and rollback: Apply writes through core/journal beneath the
// image format. After a successful, verified run the journal is KEPT beside
// the image ("<image>.pvinject-journal") as the rollback record, so
// `pvinject rollback IMAGE` still restores the original bytes, as long as
// the image is still as the run left it (the journal's seal holds hashes of
// what was written; Rollback refuses with a *ChangedError naming what
// changed, in guest terms where it can; see docs/JOURNAL.md). While it is
// there, another inject on the same image is refused (a second run would mix
// two journals); the user either rolls back or accepts the result (Accept,
// which removes the journal). Verify leaves it in place.
//
// Hive transaction logs: a rewritten hive is committed by core/hive with
// equal header sequence numbers, so Windows treats it as clean and does not
// replay the old SYSTEM.LOG1/LOG2 over it (a log is only applied to a dirty
// primary). TestCommittedHiveIgnoresOldLogs checks this with core/hive's own
// replay logic, which follows Windows.
//
// Every image, hive and driver file is hostile input; nothing here panics on
// bad bytes, and Apply refuses (a *safety.Refusal, nothing written) while the
// plan has a blocker.
package inject
