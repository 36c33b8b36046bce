// Package qcow2 reads and writes QEMU copy-on-write images, versions 2
// (compat 0.10) and 3 (compat 1.1), as described in QEMU's
// docs/interop/qcow2.txt. The code is written from that specification.
//
// Supported: L1/L2 mapping, refcount tables and blocks of every
// refcount_order, header extensions (backing format, feature name table),
// zlib-compressed clusters (read; a write to one copies it into a new
// cluster), zero clusters, backing files (read through Options.OpenParent).
// Writes allocate clusters at the end of the file, keep refcounts exact
// (growing refcount blocks and the refcount table when needed) and keep the
// image clean for `qemu-img check`: no errors and no leaks. Writing zeros
// where the disk already reads zeros allocates nothing; zeros over a
// parent's data become a zero cluster (v3). Autoclear feature bits are
// cleared before the first write, as the specification requires of
// writers that do not maintain what they vouch for.
//
// Refused with a clear error: encryption, external data files, extended L2
// entries (subclusters), zstd compression, unknown incompatible features.
// Opened read-only only: images with internal snapshots or persistent dirty
// bitmaps, images with the corrupt bit, and dirty images (lazy refcounts not
// yet repaired).
//
// Every image is hostile input: every size and offset read from the file is
// bounded and checked before use; bad input gives a *disk.FormatError.
//
// Metadata is written through (no write-back cache) in this order for each
// allocation: refcount first, then the data cluster, then the L2 entry, then
// the L1 entry. A crash can therefore leak a cluster but never map a cluster
// whose refcount is zero.
package qcow2
