// Package image opens any virtual-disk file pvinject supports as one
// disk.Image, choosing the container by its content (never its extension),
// following differencing chains, and refusing in-place writes to an image that
// other files in its folder use as their parent. It also converts an image
// into a new one of any writable format (Convert).
//
// Probing is by magic bytes in a fixed order: vhdx, vpc, qcow2, vmdk, and raw
// last as the fallback. Formats are imported explicitly in formats.go; there
// is no init-time registration.
//
// Parents (backing files) are resolved relative to the child's folder, opened
// read-only, and checked for loops; chains deeper than MaxChainDepth are
// refused. Every image is hostile input.
package image
