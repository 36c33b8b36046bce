// Package vhd reads and writes Microsoft VHD images (qemu-img's "vpc"
// format): fixed, dynamic and differencing disks, as described by the
// "Virtual Hard Disk Image Format Specification", version 1.0 (Microsoft,
// October 2006).
//
// What is covered:
//   - the 512-byte footer (at the end of every VHD, and its copy at offset 0
//     of dynamic and differencing disks), with its checksum;
//   - the dynamic disk header, its checksum, the BAT and the per-block sector
//     bitmaps;
//   - differencing disks: the parent is found through the W2ru (relative)
//     and W2ku (absolute) UTF-16 parent locators, falling back to the parent
//     name in the header, and its unique id must match the child's record;
//   - writes: new blocks are appended where the footer was, the footer moves
//     to the new end, the sector bitmap records every written sector and the
//     BAT entry is written last, so a crash at any point leaves at worst a
//     leaked block, never a BAT entry pointing at garbage.
//
// Virtual size follows qemu's rule so that qemu-img and pvinject agree: the
// CHS geometry for images made by Virtual PC, qemu and unknown creators, the
// footer's current size for Hyper-V ("win "), disk2vhd, XenServer and
// XenConverter images, and when the geometry is the maximum one.
//
// Not supported: the deprecated Wi2r/Wi2k (ANSI) and Mac locators, batch
// updates of the parent timestamp, compaction. A fixed VHD has no header at
// offset 0, so Probe (which only sees the head of a file) cannot recognise
// it; ProbeFooter checks the last 512 bytes instead.
//
// Every image is hostile input: all offsets and sizes read from the file
// are bounded by the file size and by named limits, and structural problems
// come back as *disk.FormatError naming the file.
package vhd
