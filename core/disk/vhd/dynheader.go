package vhd

import (
	"bytes"
	"encoding/binary"
	"unicode/utf16"
)

const (
	dynHeaderSize = 1024
	numLocators   = 8

	// defaultBlockSize is what Hyper-V, Virtual PC and qemu use.
	defaultBlockSize = 2 << 20
	// maxBlockSize bounds the per-block bitmap and copy buffers.
	maxBlockSize = 256 << 20

	batUnused = 0xFFFFFFFF

	// Platform codes of the parent locators this package reads.
	platW2ru = 0x57327275 // relative Windows path, UTF-16LE
	platW2ku = 0x57326B75 // absolute Windows path, UTF-16LE

	// maxLocatorBytes bounds one parent locator's data.
	maxLocatorBytes = 64 << 10
)

var dynCookie = []byte("cxsparse")

// locator is one parent locator entry of the dynamic header.
type locator struct {
	Code       uint32
	DataSpace  uint32
	DataLength uint32
	DataOffset uint64
}

// dynHeader is the decoded dynamic disk header (spec: "Dynamic Disk Header Format").
type dynHeader struct {
	TableOffset     uint64
	Version         uint32
	MaxTableEntries uint32
	BlockSize       uint32
	Checksum        uint32
	ParentUniqueID  [16]byte
	ParentTimestamp uint32
	ParentName      string // decoded from UTF-16BE
	Locators        [numLocators]locator
}

// dynHeaderProblem says why b is not a valid dynamic header ("" when it is).
func dynHeaderProblem(b []byte) string {
	if len(b) < dynHeaderSize {
		return "shorter than 1024 bytes"
	}
	if !bytes.Equal(b[:8], dynCookie) {
		return `no "cxsparse" cookie`
	}
	if got, want := binary.BigEndian.Uint32(b[36:]), checksum(b[:dynHeaderSize], 36); got != want {
		return "checksum mismatch (stored " + hex32(got) + ", computed " + hex32(want) + ")"
	}
	return ""
}

// parseDynHeader decodes b, which must already pass dynHeaderProblem.
func parseDynHeader(b []byte) dynHeader {
	be := binary.BigEndian
	var h dynHeader
	h.TableOffset = be.Uint64(b[16:])
	h.Version = be.Uint32(b[24:])
	h.MaxTableEntries = be.Uint32(b[28:])
	h.BlockSize = be.Uint32(b[32:])
	h.Checksum = be.Uint32(b[36:])
	copy(h.ParentUniqueID[:], b[40:56])
	h.ParentTimestamp = be.Uint32(b[56:])
	name := make([]uint16, 0, 256)
	for i := 64; i < 576; i += 2 {
		c := be.Uint16(b[i:])
		if c == 0 {
			break
		}
		name = append(name, c)
	}
	h.ParentName = string(utf16.Decode(name))
	for i := range h.Locators {
		e := b[576+24*i:]
		h.Locators[i] = locator{
			Code:       be.Uint32(e[0:]),
			DataSpace:  be.Uint32(e[4:]),
			DataLength: be.Uint32(e[8:]),
			DataOffset: be.Uint64(e[16:]),
		}
	}
	return h
}

// marshal encodes h with a fresh checksum.
func (h *dynHeader) marshal() []byte {
	be := binary.BigEndian
	b := make([]byte, dynHeaderSize)
	copy(b, dynCookie)
	be.PutUint64(b[8:], ^uint64(0))
	be.PutUint64(b[16:], h.TableOffset)
	be.PutUint32(b[24:], h.Version)
	be.PutUint32(b[28:], h.MaxTableEntries)
	be.PutUint32(b[32:], h.BlockSize)
	copy(b[40:56], h.ParentUniqueID[:])
	be.PutUint32(b[56:], h.ParentTimestamp)
	for i, c := range utf16.Encode([]rune(h.ParentName)) {
		if 64+2*i+2 > 576 {
			break
		}
		be.PutUint16(b[64+2*i:], c)
	}
	for i, l := range h.Locators {
		e := b[576+24*i:]
		be.PutUint32(e[0:], l.Code)
		be.PutUint32(e[4:], l.DataSpace)
		be.PutUint32(e[8:], l.DataLength)
		be.PutUint64(e[16:], l.DataOffset)
	}
	h.Checksum = checksum(b, 36)
	be.PutUint32(b[36:], h.Checksum)
	return b
}

// decodeUTF16LE decodes a locator's path, stopping at a NUL.
func decodeUTF16LE(b []byte) string {
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		c := binary.LittleEndian.Uint16(b[i:])
		if c == 0 {
			break
		}
		u = append(u, c)
	}
	return string(utf16.Decode(u))
}

// bitmapBytes is the size of a block's sector bitmap, padded to a sector.
func bitmapBytes(blockSize int64) int64 {
	bits := blockSize / sectorSize
	return ((bits+7)/8 + sectorSize - 1) / sectorSize * sectorSize
}
