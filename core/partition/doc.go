// Package partition finds the partitions of a virtual disk (MBR, including
// extended/logical chains and XP-era partitions at sector 63, and GPT) and
// the filesystem at the start of each: ntfs, fat, exfat, ext, bitlocker,
// ldm (dynamic disk) or unknown. A disk holding one filesystem with no
// partition table at all is reported as a single partition 0 spanning it.
//
// GPT headers and entries, and the four primary MBR entries, are parsed by
// github.com/diskfs/go-diskfs (v1.9.4) through a small read-only backend over
// an io.ReaderAt. go-diskfs does not follow extended partitions (EBR chains),
// so that part is ours (ebr.go), and its GPT reader allocates the entry array
// from header fields without a bound, so those fields are validated here
// before go-diskfs sees them (gpt.go).
//
// Sector size: 512 bytes unless a GPT is found at 4096 (4Kn disks).
//
// Every disk is hostile input: offsets and counts are bounded, chains are
// checked for loops, and nothing here panics on bad bytes.
//
// View gives a bounded io.ReaderAt/io.WriterAt over one partition that
// refuses I/O past its end.
package partition
