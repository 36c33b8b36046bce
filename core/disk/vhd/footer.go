package vhd

import (
	"bytes"
	"encoding/binary"
	"time"
)

const (
	sectorSize = 512
	footerSize = 512

	typeFixed        = 2
	typeDynamic      = 3
	typeDifferencing = 4

	// noDataOffset is the footer's data offset of a fixed disk.
	noDataOffset = ^uint64(0)

	// maxVirtualSize is the largest disk a 32-bit sector BAT can address.
	maxVirtualSize = 2 << 40
	// maxCreateSize is what qemu and Hyper-V create at most (2040 GiB).
	maxCreateSize = 2040 << 30

	// maxGeometrySectors is 65535 cylinders x 16 heads x 255 sectors.
	maxGeometrySectors = 65535 * 16 * 255
)

var (
	footerCookie = []byte("conectix")
	// vhdEpoch is the zero of VHD timestamps.
	vhdEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
)

// footer is the decoded hard disk footer (spec: "Hard Disk Footer Format").
type footer struct {
	Features     uint32
	Version      uint32
	DataOffset   uint64
	Timestamp    uint32
	CreatorApp   [4]byte
	CreatorVer   uint32
	CreatorOS    [4]byte
	OriginalSize uint64
	CurrentSize  uint64
	Cylinders    uint16
	Heads        uint8
	SectorsPerTr uint8
	DiskType     uint32
	Checksum     uint32
	UniqueID     [16]byte
	SavedState   uint8
}

// footerProblem says why 512 bytes are not a valid footer ("" when they are).
func footerProblem(b []byte) string {
	if len(b) < footerSize {
		return "shorter than 512 bytes"
	}
	if !bytes.Equal(b[:8], footerCookie) {
		return `no "conectix" cookie`
	}
	if got, want := binary.BigEndian.Uint32(b[64:]), checksum(b[:footerSize], 64); got != want {
		return "checksum mismatch (stored " + hex32(got) + ", computed " + hex32(want) + ")"
	}
	return ""
}

// parseFooter decodes b, which must already pass footerProblem.
func parseFooter(b []byte) footer {
	be := binary.BigEndian
	var f footer
	f.Features = be.Uint32(b[8:])
	f.Version = be.Uint32(b[12:])
	f.DataOffset = be.Uint64(b[16:])
	f.Timestamp = be.Uint32(b[24:])
	copy(f.CreatorApp[:], b[28:32])
	f.CreatorVer = be.Uint32(b[32:])
	copy(f.CreatorOS[:], b[36:40])
	f.OriginalSize = be.Uint64(b[40:])
	f.CurrentSize = be.Uint64(b[48:])
	f.Cylinders = be.Uint16(b[56:])
	f.Heads = b[58]
	f.SectorsPerTr = b[59]
	f.DiskType = be.Uint32(b[60:])
	f.Checksum = be.Uint32(b[64:])
	copy(f.UniqueID[:], b[68:84])
	f.SavedState = b[84]
	return f
}

// marshal encodes f with a fresh checksum.
func (f *footer) marshal() []byte {
	be := binary.BigEndian
	b := make([]byte, footerSize)
	copy(b, footerCookie)
	be.PutUint32(b[8:], f.Features)
	be.PutUint32(b[12:], f.Version)
	be.PutUint64(b[16:], f.DataOffset)
	be.PutUint32(b[24:], f.Timestamp)
	copy(b[28:32], f.CreatorApp[:])
	be.PutUint32(b[32:], f.CreatorVer)
	copy(b[36:40], f.CreatorOS[:])
	be.PutUint64(b[40:], f.OriginalSize)
	be.PutUint64(b[48:], f.CurrentSize)
	be.PutUint16(b[56:], f.Cylinders)
	b[58] = f.Heads
	b[59] = f.SectorsPerTr
	be.PutUint32(b[60:], f.DiskType)
	copy(b[68:84], f.UniqueID[:])
	b[84] = f.SavedState
	f.Checksum = checksum(b, 64)
	be.PutUint32(b[64:], f.Checksum)
	return b
}

// geometrySectors is the disk size the CHS geometry describes, in sectors.
func (f *footer) geometrySectors() int64 {
	return int64(f.Cylinders) * int64(f.Heads) * int64(f.SectorsPerTr)
}

// virtualSize applies qemu's rule (see the package doc): Virtual PC and qemu
// itself size the disk by its CHS geometry, other creators by current size.
func (f *footer) virtualSize() int64 {
	switch string(f.CreatorApp[:]) {
	case "win ", "qem2", "d2v ", "CTXS", "tap\x00":
		return int64(f.CurrentSize)
	}
	chs := f.geometrySectors()
	if chs == maxGeometrySectors {
		return int64(f.CurrentSize)
	}
	return chs * sectorSize
}

// checksum is the one's complement of the byte sum of b, skipping the four
// checksum bytes at at.
func checksum(b []byte, at int) uint32 {
	var sum uint32
	for i, c := range b {
		if i >= at && i < at+4 {
			continue
		}
		sum += uint32(c)
	}
	return ^sum
}

// geometry computes the CHS geometry for a disk of totalSectors, following
// the algorithm in the spec's appendix (which qemu also uses).
func geometry(totalSectors int64) (cyls uint16, heads, spt uint8) {
	totalSectors = min(totalSectors, maxGeometrySectors)
	var cth int64
	if totalSectors >= 65535*16*63 {
		spt, heads = 255, 16
		cth = totalSectors / int64(spt)
	} else {
		spt = 17
		cth = totalSectors / int64(spt)
		h := (cth + 1023) / 1024
		if h < 4 {
			h = 4
		}
		if cth >= h*1024 || h > 16 {
			spt, h = 31, 16
			cth = totalSectors / int64(spt)
		}
		if cth >= h*1024 {
			spt, h = 63, 16
			cth = totalSectors / int64(spt)
		}
		heads = uint8(h)
	}
	return uint16(cth / int64(heads)), heads, spt
}

// createGeometry returns the geometry and the virtual size (in sectors) of a
// new disk of at least totalSectors: like qemu, the size is rounded up to
// what the geometry can describe, so that every reader (CHS-based or
// size-based) sees the same disk; beyond the largest geometry the exact size
// is kept with the maximum geometry.
func createGeometry(totalSectors int64) (cyls uint16, heads, spt uint8, sectors int64) {
	for i := int64(0); ; i++ {
		cyls, heads, spt = geometry(totalSectors + i)
		chs := int64(cyls) * int64(heads) * int64(spt)
		if chs == maxGeometrySectors {
			return cyls, heads, spt, totalSectors
		}
		if chs >= totalSectors {
			return cyls, heads, spt, chs
		}
	}
}

func hex32(v uint32) string {
	const digits = "0123456789abcdef"
	b := []byte("0x00000000")
	for i := 9; i >= 2; i-- {
		b[i] = digits[v&0xf]
		v >>= 4
	}
	return string(b)
}
