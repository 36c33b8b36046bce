package vhdx

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

const maxRegionEntries = 2047

// region is one entry of the region table ([MS-VHDX] 2.2.3.2).
type region struct {
	GUID     guid
	Offset   uint64
	Length   uint32
	Required bool
}

// parseRegionTable checks and decodes a 64 KiB region table. Offsets are
// checked against fileSize; unknown required regions are refused because
// the spec says a reader that does not know them must not open the file.
func parseRegionTable(b []byte, fileSize int64) ([]region, string) {
	if len(b) < regionSize {
		return nil, "shorter than 64 KiB"
	}
	if !bytes.Equal(b[:4], regionSignature) {
		return nil, `no "regi" signature`
	}
	le := binary.LittleEndian
	if got, want := le.Uint32(b[4:]), crcOf(b[:regionSize], 4); got != want {
		return nil, "CRC-32C mismatch"
	}
	n := le.Uint32(b[8:])
	if n > maxRegionEntries {
		return nil, fmt.Sprintf("%d entries, more than %d", n, maxRegionEntries)
	}
	rs := make([]region, 0, n)
	for i := range int(n) {
		e := b[16+32*i:]
		var r region
		copy(r.GUID[:], e[:16])
		r.Offset = le.Uint64(e[16:])
		r.Length = le.Uint32(e[24:])
		r.Required = le.Uint32(e[28:])&1 != 0
		if r.Offset%mib != 0 || r.Length%mib != 0 || r.Offset < headerAreaSize || r.Length == 0 {
			return nil, fmt.Sprintf("entry %d: region at %d of %d bytes is not 1 MiB aligned past the header area", i, r.Offset, r.Length)
		}
		if r.Offset > uint64(fileSize) || uint64(fileSize)-r.Offset < uint64(r.Length) {
			return nil, fmt.Sprintf("entry %d: region at %d of %d bytes is past the end of the file (%d bytes)", i, r.Offset, r.Length, fileSize)
		}
		for j, o := range rs {
			if r.GUID == o.GUID {
				return nil, fmt.Sprintf("entry %d repeats region %s", i, r.GUID)
			}
			if r.Offset < o.Offset+uint64(o.Length) && o.Offset < r.Offset+uint64(r.Length) {
				return nil, fmt.Sprintf("entries %d and %d overlap", j, i)
			}
		}
		if r.GUID != regionBAT && r.GUID != regionMetadata && r.Required {
			return nil, fmt.Sprintf("entry %d: unknown required region %s", i, r.GUID)
		}
		rs = append(rs, r)
	}
	return rs, ""
}

func marshalRegionTable(rs []region) []byte {
	le := binary.LittleEndian
	b := make([]byte, regionSize)
	copy(b, regionSignature)
	le.PutUint32(b[8:], uint32(len(rs)))
	for i, r := range rs {
		e := b[16+32*i:]
		copy(e, r.GUID[:])
		le.PutUint64(e[16:], r.Offset)
		le.PutUint32(e[24:], r.Length)
		if r.Required {
			le.PutUint32(e[28:], 1)
		}
	}
	le.PutUint32(b[4:], crcOf(b, 4))
	return b
}
