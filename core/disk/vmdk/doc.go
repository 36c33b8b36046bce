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
// the unwritten part from the parent or with zeros, and update the grain
// table and its redundant copy: data first, then the redundant table, then
// the primary, so a crash can waste a grain but never map garbage. The first
// write gives the disk a new CID, as VMware does, so that stale children are
// detected.
//
// Refused: ESX sparse (COWD / vmfsSparse) and SE sparse extents, raw device
// mappings, extent files outside the descriptor's folder (only their base
// names are used). Every image is hostile input: all sizes and offsets are
// bounded; bad input gives a *disk.FormatError.
//
// github.com/masahiro331/go-vmdk-parser was not used: it reads through an
// io.ReadSeeker, handles one extent only, and cannot write.
package vmdk
