package ntfs

import (
	"encoding/binary"
	"fmt"
)

// attrListEntry is one entry of $ATTRIBUTE_LIST.
type attrListEntry struct {
	Type   uint32
	Name   []uint16
	LowVCN int64
	Ref    uint64
	ID     uint16
}

const maxAttrList = 1 << 20

func (f *file) attrList() ([]attrListEntry, error) {
	al := f.base.find(atAttributeList, "")
	if al == nil {
		return nil, nil
	}
	var b []byte
	if al.NonRes {
		s := &stream{v: f.v, nonRes: true, runs: al.Runs, size: al.DataSize, init: al.InitSize, alloc: al.AllocSize}
		var err error
		if b, err = s.readAll(maxAttrList); err != nil {
			return nil, fmt.Errorf("ntfs: attribute list of record %d: %w", f.base.Num, err)
		}
	} else {
		b = al.Value
	}
	es, err := parseAttrList(b)
	if err != nil {
		return nil, fmt.Errorf("ntfs: attribute list of record %d: %w", f.base.Num, err)
	}
	return es, nil
}

func parseAttrList(b []byte) ([]attrListEntry, error) {
	var out []attrListEntry
	for pos := 0; pos < len(b); {
		if pos+0x1a > len(b) {
			return nil, fmt.Errorf("%w: truncated entry at %d", ErrCorrupt, pos)
		}
		length := int(binary.LittleEndian.Uint16(b[pos+4:]))
		nl, no := int(b[pos+6]), int(b[pos+7])
		if length < 0x1a || pos+length > len(b) || (nl > 0 && no+2*nl > length) {
			return nil, fmt.Errorf("%w: entry at %d length %d", ErrCorrupt, pos, length)
		}
		e := attrListEntry{
			Type:   binary.LittleEndian.Uint32(b[pos:]),
			LowVCN: int64(binary.LittleEndian.Uint64(b[pos+8:])),
			Ref:    binary.LittleEndian.Uint64(b[pos+0x10:]),
			ID:     binary.LittleEndian.Uint16(b[pos+0x18:]),
		}
		if nl > 0 {
			e.Name = decodeUTF16(b[pos+no : pos+no+2*nl])
		}
		out = append(out, e)
		pos += length
	}
	return out, nil
}

func encodeAttrList(es []attrListEntry) []byte {
	var b []byte
	for _, e := range es {
		n := align8(0x1a + 2*len(e.Name))
		x := make([]byte, n)
		binary.LittleEndian.PutUint32(x, e.Type)
		binary.LittleEndian.PutUint16(x[4:], uint16(n))
		x[6] = byte(len(e.Name))
		x[7] = 0x1a
		binary.LittleEndian.PutUint64(x[8:], uint64(e.LowVCN))
		binary.LittleEndian.PutUint64(x[0x10:], e.Ref)
		binary.LittleEndian.PutUint16(x[0x18:], e.ID)
		copy(x[0x1a:], encodeUTF16(e.Name))
		b = append(b, x...)
	}
	return b
}
