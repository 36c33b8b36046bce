package vhdx

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"unicode/utf16"
)

const (
	kib = 1 << 10
	mib = 1 << 20

	fileIDOffset   = 0
	header1Offset  = 64 * kib
	header2Offset  = 128 * kib
	region1Offset  = 192 * kib
	region2Offset  = 256 * kib
	headerSize     = 4 * kib // the checksummed part of a header
	regionSize     = 64 * kib
	headerAreaSize = 1 * mib
)

var (
	fileSignature   = []byte("vhdxfile")
	headerSignature = []byte("head")
	regionSignature = []byte("regi")
	crcTable        = crc32.MakeTable(crc32.Castagnoli)
)

// crcOf is CRC-32C of b with the 4 checksum bytes at at taken as zero.
func crcOf(b []byte, at int) uint32 {
	var zero [4]byte
	c := crc32.Update(0, crcTable, b[:at])
	c = crc32.Update(c, crcTable, zero[:])
	return crc32.Update(c, crcTable, b[at+4:])
}

// header is one of the two VHDX headers ([MS-VHDX] 2.2.2).
type header struct {
	Sequence      uint64
	FileWriteGUID guid
	DataWriteGUID guid
	LogGUID       guid
	LogVersion    uint16
	Version       uint16
	LogLength     uint32
	LogOffset     uint64
}

// headerProblem says why b is not a valid header ("" when it is).
func headerProblem(b []byte) string {
	if len(b) < headerSize {
		return "shorter than 4 KiB"
	}
	if !bytes.Equal(b[:4], headerSignature) {
		return `no "head" signature`
	}
	if got, want := binary.LittleEndian.Uint32(b[4:]), crcOf(b[:headerSize], 4); got != want {
		return "CRC-32C mismatch"
	}
	return ""
}

func parseHeader(b []byte) header {
	le := binary.LittleEndian
	var h header
	h.Sequence = le.Uint64(b[8:])
	copy(h.FileWriteGUID[:], b[16:32])
	copy(h.DataWriteGUID[:], b[32:48])
	copy(h.LogGUID[:], b[48:64])
	h.LogVersion = le.Uint16(b[64:])
	h.Version = le.Uint16(b[66:])
	h.LogLength = le.Uint32(b[68:])
	h.LogOffset = le.Uint64(b[72:])
	return h
}

func (h *header) marshal() []byte {
	le := binary.LittleEndian
	b := make([]byte, headerSize)
	copy(b, headerSignature)
	le.PutUint64(b[8:], h.Sequence)
	copy(b[16:], h.FileWriteGUID[:])
	copy(b[32:], h.DataWriteGUID[:])
	copy(b[48:], h.LogGUID[:])
	le.PutUint16(b[64:], h.LogVersion)
	le.PutUint16(b[66:], h.Version)
	le.PutUint32(b[68:], h.LogLength)
	le.PutUint64(b[72:], h.LogOffset)
	le.PutUint32(b[4:], crcOf(b, 4))
	return b
}

// fileIdentifier is the first 64 KiB: signature and creator.
func fileIdentifier(creator string) []byte {
	b := make([]byte, 64*kib)
	copy(b, fileSignature)
	for i, c := range utf16.Encode([]rune(creator)) {
		if 8+2*i+2 > 8+512 {
			break
		}
		binary.LittleEndian.PutUint16(b[8+2*i:], c)
	}
	return b
}
