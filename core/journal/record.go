package journal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

const magic = "PVJRNL1\n"

// Record kinds.
const (
	kindFile   = 1
	kindData   = 2
	kindCreate = 3
)

// maxPayload bounds one record; larger writes are split. It also bounds what
// a damaged length field can make Rollback allocate.
const maxPayload = 16 << 20

// maxData is the old-bytes payload of one data record.
const maxData = maxPayload - 64

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

type record struct {
	kind int
	id   uint32
	size int64  // file: original size
	off  int64  // data: offset
	path string // file, create
	data []byte // data: old bytes
}

// marshal encodes r with its length and checksum.
func (r record) marshal() []byte {
	var p []byte
	p = append(p, byte(r.kind))
	p = binary.LittleEndian.AppendUint32(p, r.id)
	switch r.kind {
	case kindFile:
		p = binary.LittleEndian.AppendUint64(p, uint64(r.size))
		p = append(p, r.path...)
	case kindData:
		p = binary.LittleEndian.AppendUint64(p, uint64(r.off))
		p = append(p, r.data...)
	case kindCreate:
		p = append(p, r.path...)
	}
	out := make([]byte, 8, 8+len(p))
	binary.LittleEndian.PutUint32(out, uint32(len(p)))
	binary.LittleEndian.PutUint32(out[4:], crc32.Checksum(p, castagnoli))
	return append(out, p...)
}

// errTorn marks the end of the usable journal: a record cut short or with a
// bad checksum, as a crash during an append leaves it.
var errTorn = errors.New("journal: torn record")

// parseRecord decodes the record at the start of b and returns its length.
func parseRecord(b []byte) (record, int, error) {
	if len(b) < 8 {
		return record{}, 0, errTorn
	}
	n := binary.LittleEndian.Uint32(b)
	if n > maxPayload || int64(n) > int64(len(b)-8) || n < 5 {
		return record{}, 0, errTorn
	}
	p := b[8 : 8+n]
	if crc32.Checksum(p, castagnoli) != binary.LittleEndian.Uint32(b[4:]) {
		return record{}, 0, errTorn
	}
	r := record{kind: int(p[0]), id: binary.LittleEndian.Uint32(p[1:])}
	rest := p[5:]
	switch r.kind {
	case kindFile, kindData:
		if len(rest) < 8 {
			return record{}, 0, fmt.Errorf("journal: record kind %d too short", r.kind)
		}
		v := int64(binary.LittleEndian.Uint64(rest))
		if v < 0 {
			return record{}, 0, fmt.Errorf("journal: record kind %d has negative offset or size %d", r.kind, v)
		}
		if r.kind == kindFile {
			r.size, r.path = v, string(rest[8:])
		} else {
			r.off, r.data = v, rest[8:]
		}
	case kindCreate:
		r.path = string(rest)
	default:
		return record{}, 0, fmt.Errorf("journal: unknown record kind %d", r.kind)
	}
	if (r.kind == kindFile || r.kind == kindCreate) && r.path == "" {
		return record{}, 0, fmt.Errorf("journal: record kind %d without a path", r.kind)
	}
	return r, 8 + int(n), nil
}

// parseJournal decodes a whole journal. A torn tail ends it silently;
// a checksummed record that makes no sense is an error.
func parseJournal(b []byte) ([]record, error) {
	if len(b) < len(magic) || string(b[:len(magic)]) != magic {
		return nil, errors.New("journal: not a pvinject journal (bad magic)")
	}
	b = b[len(magic):]
	var out []record
	for len(b) > 0 {
		r, n, err := parseRecord(b)
		if errors.Is(err, errTorn) {
			break
		}
		if err != nil {
			return nil, err
		}
		out = append(out, r)
		b = b[n:]
	}
	return out, nil
}
