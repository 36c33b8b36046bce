// Package matrix decides whether a driver set supports a detected Windows:
// supported, supported-with-warnings or unsupported, with reasons a person
// can act on, each citing the document section it comes from.
//
// The decisions are data, not code: one JSON file per driver set in
// assets/matrix, loaded with Load or Builtin and checked against the schema
// (every row names a known OS id, an architecture and its source). Evaluate
// is a pure function of a Set and a guest.Windows.
//
// Sources of the shipped sets:
//   - oracle-pv-3.2.3, -3.2.2, -3.0.1: Oracle VM Paravirtual Drivers Release
//     3.2.3 Installation Guide for Microsoft Windows (E50255-08): Table 1.1
//     (Oracle VM releases), Table 1.2 (guests by bitness and service pack),
//     Table 1.3 (limits), §1.4 and §4.1 (signing), §2.1 and §2.2 (what each
//     release changed, from which the 3.2.2 and 3.0.1 rows are derived),
//     §3.1 (device installation policies), §4.2, §4.4, §4.5 (known issues).
//   - virtio-win: the directories of a real virtio-win ISO listing
//     (libguestfs/virt-v2v test-data/fake-virtio-win/virtio-win-iso-list.txt)
//     plus upstream statements on legacy and ARM64 drivers, cited per row.
//   - xcp-ng-winpv: the XCP-ng documentation's Windows guest tools section
//     (xcp-ng/xcp-ng-org docs/vms/vms.md).
//
// A reason's Source is the set's document followed by the section; reasons
// that hold for every set (Fast Startup, a pending reboot) cite the shared
// injection-facts document.
package matrix
