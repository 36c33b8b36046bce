// Package inspect answers `pvinject inspect`: what is in a disk image, which
// Windows installations it holds, what would make writing to it unsafe, and
// whether each driver set supports the chosen Windows. It only reads.
//
// Inspect opens every host file through a read-only Opener (a write, a
// truncate or a create is an error, whatever the layers below would try), so
// inspection can never change an image even through a bug elsewhere. It then
// reads the partition table (core/partition), opens every NTFS partition
// read-only (core/ntfs), runs the NTFS safety checks, detects the Windows
// installs on each (core/guest) and evaluates every driver-set matrix
// (core/matrix) for the chosen install.
//
// Findings from every layer are merged into one Safety value: NTFS checks on
// the partition that holds the chosen install keep their severity (that is
// the volume an injection writes); those on other partitions become warnings
// because nothing writes there. Image-level findings cover what no lower
// layer can see: BitLocker and dynamic-disk (LDM) partitions, an image that
// other files use as their parent, a VHDX with a non-empty log, a format that
// can only be read.
//
// Cost: only metadata is read (partition tables, boot sectors, the MFT
// records on the paths to the files guest detection asks for, the SYSTEM and
// SOFTWARE hives). A sparse 64 GiB image inspects in about 5 to 11 ms
// reading 0.3 MiB (raw) or 2.5 MiB (qcow2), whatever the size of its hives:
// clean hives are read in place, only the cells detection needs
// (hive.OpenLazy over ntfs.Volume.OpenFile; see guest.Detect). Dirty hives
// are still read whole to replay their logs: an 84 MiB dirty SOFTWARE hive
// would cost 83 MiB and about 170 ms (budget_test.go), over issue 4's 64 MiB
// read budget.
//
// The JSON form of Report is a contract (issues 2 and 4): field names are
// stable, arrays are never null, and `windows` is null when no Windows was
// found. WriteText renders the same report for people.
package inspect
