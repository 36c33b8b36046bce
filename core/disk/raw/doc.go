// Package raw reads and writes raw disk images (.img, .raw, Oracle VM and Xen
// repository files) and block devices: the virtual disk is the host file,
// byte for byte.
//
// Raw has no header, so Probe accepts anything: core/image tries it last, as
// the fallback after every container format has declined the file.
//
// Sparse files are mapped with SEEK_DATA/SEEK_HOLE (Linux) so that copies can
// skip holes; elsewhere, or on block devices, the whole disk is reported as
// allocated and copies fall back to skipping zero blocks.
//
// Every image is hostile input; raw has no structure to trust, but accesses
// are still range-checked against the file size taken at open.
package raw
