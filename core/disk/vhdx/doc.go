// Package vhdx reads and writes Microsoft VHDX images as described by
// "[MS-VHDX]: Virtual Hard Disk v2 (VHDX) File Format", version 1.0.
//
// What is covered:
//   - the file type identifier, both headers (the current one is the valid
//     one with the higher sequence number; CRC-32C checked), both region
//     table copies (CRC-32C checked), the BAT with payload and sector bitmap
//     entries interleaved by the chunk ratio, and the metadata region (file
//     parameters, virtual disk size, logical and physical sector size,
//     page 83 data, parent locator);
//   - dynamic, fixed and differencing disks for reading; a differencing
//     disk's parent is found through its parent locator (relative_path, then
//     volume_path, then absolute_win32_path, the spec's order) and opened via
//     disk.Options.OpenParent; its DataWriteGuid must match parent_linkage;
//   - writes to dynamic, fixed and differencing disks: a new payload block is
//     appended at the end of the file, 1 MiB aligned, then its BAT entry is
//     written in place as PAYLOAD_BLOCK_FULLY_PRESENT. In a differencing disk
//     the rest of a new block is copied from the parent first, so no sector
//     bitmap is ever written. Before the first write of an open, both headers
//     get a new FileWriteGuid and DataWriteGuid (as the spec requires).
//
// The log: a VHDX whose header names a log (non-zero LogGuid) was not
// closed cleanly, and its metadata may be stale until the log is replayed.
// Open finds the active sequence ([MS-VHDX] 2.3.3: the complete run of
// valid, consecutive entries with the highest sequence number) and replays
// it: into the file when opened writable (synced, then both headers are
// rewritten without the LogGuid), or into an in-memory overlay when opened
// read-only, so the file is never touched. As the spec requires, a file is
// refused (ErrLogNotEmpty, which says how to replay or repair it elsewhere:
// attach it once in Hyper-V, or `qemu-img check -r all`) when its header
// names a log without a valid sequence, when it is shorter than the log's
// FlushedFileOffset, or when the log would write over the file identifier
// or far past the end of the file. pvinject never writes through the
// log itself: the BAT is updated in place after the data it points to is
// written, so a crash leaves at worst a leaked block.
//
// Not supported: creating differencing disks, resizing, and writing
// through the log. Create makes 512-byte logical sectors only (4096-byte
// ones are read and written).
//
// Every image is hostile input: all offsets, lengths and counts read from
// the file are bounded by the file size and by limits in the spec (64 TiB
// virtual size, block sizes 1..256 MiB and powers of two, 2047 table
// entries); problems come back as *disk.FormatError naming the file.
package vhdx
