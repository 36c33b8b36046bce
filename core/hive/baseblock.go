package hive

import (
	"bytes"
	"encoding/binary"
)

// Base block (file header) layout, from the public REGF specification
// (msuhanov/regf, "Base block").
const (
	baseBlockSize  = 4096
	binAlign       = 4096
	offSeq1        = 4
	offSeq2        = 8
	offTimestamp   = 12
	offMajor       = 20
	offMinor       = 24
	offFileType    = 28
	offFormat      = 32
	offRootCell    = 36
	offHbinsSize   = 40
	offCluster     = 44
	offChecksum    = 508
	checksumLength = 508

	fileTypePrimary = 0
	fileTypeLogOld  = 1 // Windows XP .. 8.0 log (dirty vector)
	fileTypeLogNew  = 6 // Windows 8.1+ log (HvLE entries)

	// maxHiveSize bounds everything sized from header fields. The largest
	// real hives (SOFTWARE on long-lived servers) are a few hundred MiB;
	// Windows itself refuses hives above 2 GiB.
	maxHiveSize = 2 << 30
)

var (
	sigRegf = []byte("regf")
	sigCREG = []byte("CREG") // Windows 95/98/ME SYSTEM.DAT/USER.DAT
)

// baseBlock is the decoded header of a primary file or of a log file.
type baseBlock struct {
	Seq1, Seq2   uint32
	Timestamp    uint64
	Major, Minor uint32
	FileType     uint32
	RootCell     uint32
	HbinsSize    uint32
	Checksum     uint32
	ChecksumOK   bool
}

// xorChecksum is the base block checksum: XOR of the first 127 dwords,
// with 0 and 0xFFFFFFFF remapped as the specification says.
func xorChecksum(b []byte) uint32 {
	var c uint32
	for i := 0; i+4 <= checksumLength && i+4 <= len(b); i += 4 {
		c ^= binary.LittleEndian.Uint32(b[i:])
	}
	switch c {
	case 0xFFFFFFFF:
		c = 0xFFFFFFFE
	case 0:
		c = 1
	}
	return c
}

// parseBaseBlock decodes the first 512 bytes of b (the part logs carry);
// callers check sizes against the file themselves. A wrong checksum is
// reported in ChecksumOK, not as an error, because a dirty hive may
// legitimately have one and be recovered from its log.
func parseBaseBlock(name string, b []byte) (baseBlock, error) {
	if len(b) >= 4 && bytes.Equal(b[:4], sigCREG) {
		return baseBlock{}, formatErr(name, 0, "base block", ErrWin9x,
			"CREG signature: this is a Windows 95/98/ME SYSTEM.DAT/USER.DAT; Windows 9x registry is not supported")
	}
	if len(b) < 4 || !bytes.Equal(b[:4], sigRegf) {
		return baseBlock{}, formatErr(name, 0, "base block", ErrNotHive, "signature is %q, want \"regf\"", head(b, 4))
	}
	if len(b) < 512 {
		return baseBlock{}, formatErr(name, 0, "base block", ErrTruncated, "only %d bytes", len(b))
	}
	le := binary.LittleEndian
	bb := baseBlock{
		Seq1:      le.Uint32(b[offSeq1:]),
		Seq2:      le.Uint32(b[offSeq2:]),
		Timestamp: le.Uint64(b[offTimestamp:]),
		Major:     le.Uint32(b[offMajor:]),
		Minor:     le.Uint32(b[offMinor:]),
		FileType:  le.Uint32(b[offFileType:]),
		RootCell:  le.Uint32(b[offRootCell:]),
		HbinsSize: le.Uint32(b[offHbinsSize:]),
		Checksum:  le.Uint32(b[offChecksum:]),
	}
	bb.ChecksumOK = bb.Checksum == xorChecksum(b)
	// A base block with a wrong checksum may be half-written garbage that a
	// log will replace, so its fields are only judged once it checks out.
	if bb.ChecksumOK && (bb.Major != 1 || bb.Minor < 2 || bb.Minor > 6) {
		return bb, formatErr(name, offMajor, "base block", ErrCorrupt,
			"hive format version %d.%d is not supported (want 1.2 to 1.6)", bb.Major, bb.Minor)
	}
	return bb, nil
}

// checkPrimary validates a primary file's header against its length.
func checkPrimary(name string, data []byte) (baseBlock, error) {
	bb, err := parseBaseBlock(name, data)
	if err != nil {
		return bb, err
	}
	if bb.Major != 1 || bb.Minor < 2 || bb.Minor > 6 {
		return bb, formatErr(name, offMajor, "base block", ErrCorrupt,
			"hive format version %d.%d is not supported (want 1.2 to 1.6)", bb.Major, bb.Minor)
	}
	if len(data) < baseBlockSize {
		return bb, formatErr(name, 0, "base block", ErrTruncated, "file is %d bytes, a base block alone is %d", len(data), baseBlockSize)
	}
	if bb.FileType != fileTypePrimary {
		return bb, formatErr(name, offFileType, "base block", ErrNotHive, "file type %d: this is a transaction log, not a primary hive file", bb.FileType)
	}
	if bb.HbinsSize == 0 || bb.HbinsSize%binAlign != 0 || bb.HbinsSize > maxHiveSize {
		return bb, formatErr(name, offHbinsSize, "base block", ErrCorrupt, "hive bins size 0x%x is not a non-zero multiple of 4096", bb.HbinsSize)
	}
	if int64(baseBlockSize)+int64(bb.HbinsSize) > int64(len(data)) {
		return bb, formatErr(name, offHbinsSize, "base block", ErrTruncated,
			"header says %d bytes of hive bins, file has %d", bb.HbinsSize, len(data)-baseBlockSize)
	}
	return bb, nil
}

// sealHeader makes a recovered or rebuilt header consistent: equal
// sequence numbers, the hive bins size, primary file type, and a fresh
// checksum.
func sealHeader(b []byte, seq, hbinsSize uint32) {
	le := binary.LittleEndian
	le.PutUint32(b[offSeq1:], seq)
	le.PutUint32(b[offSeq2:], seq)
	le.PutUint32(b[offFileType:], fileTypePrimary)
	le.PutUint32(b[offHbinsSize:], hbinsSize)
	le.PutUint32(b[offChecksum:], xorChecksum(b))
}

func head(b []byte, n int) []byte {
	if len(b) < n {
		return b
	}
	return b[:n]
}
