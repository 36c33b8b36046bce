// Package vmdk reads and writes VMware virtual disks (VMDK), written from
// VMware's "Virtual Disk Format 1.1" specification and QEMU's behaviour.
//
// Supported: the text descriptor (embedded or in its own file) with its
// extent lines (RW/RDONLY/NOACCESS; SPARSE, FLAT, VMFS, ZERO), hosted sparse
// extents (KDMV header, grain directory and grain tables, the redundant
// copies used when the primary directory is damaged), flat extents, and the
// subformats monolithicSparse, monolithicFlat, twoGbMaxExtentSparse,
// twoGbMaxExtentFlat and vmfs. streamOptimized (compressed grains) is read
// only: writing it returns disk.ErrReadOnlyFormat. Differencing disks are
// read through their parent (parentFileNameHint, opened by
// Options.OpenParent) whose CID must match parentCID.
//
// Writes allocate whole grains at the end of the sparse extent file, fill
// the unwritten part from the parent or with zeros (zeros where the disk
// already reads zeros allocate nothing; zeros over a parent's data become a
// zeroed grain when the extent has that flag), and update the grain
// table and its redundant copy: data first, then the redundant table, then
// the primary, so a crash can waste a grain but never map garbage. The first
// write gives the disk a new CID, as VMware does, so that stale children are
// detected.
//
// A sparse file whose embedded descriptor lists one extent is that extent,
// even when the file has been renamed since it was made.
//
// Extent files are looked up in the descriptor's folder only: absolute or
// escaping names are reduced to their base name, so a descriptor cannot
// make pvinject open (or write) files elsewhere.
//
// Refused: ESX sparse (COWD / vmfsSparse) and SE sparse extents, and raw
// device mappings. Every image is hostile input: all sizes and offsets are
// bounded; bad input gives a *disk.FormatError.
//
// github.com/masahiro331/go-vmdk-parser was not used: it reads through an
// io.ReadSeeker, handles one extent only, and cannot write.
package vmdk
