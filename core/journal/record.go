package journal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

const magic = "PVJRNL2\n"

// headerSize is the space reserved for the header; records start after it.
// The header itself fits in one 512-byte sector, so rewriting it is a
// single-sector write (see docs/JOURNAL.md for why that matters).
const headerSize = 512

// headerLen is the used part of the header: magic, flags, alloc, count,
// end, CRC-32C of the bytes before it.
const headerLen = 40

// Header flags.
const (
	flagSealed    = 1 // the run finished and verified; a seal record ends the journal
	flagRestoring = 2 // a rollback has started writing old bytes back
)

// Record kinds.
const (
	kindFile   = 1
	kindData   = 2
	kindCreate = 3
	kindSeal   = 4
	// kindEnd closes every append: the host writes a batch announces start
	// only after the whole batch, end included, is synced. So a damaged
	// record that is the last of an unsealed journal is either an append
	// torn by a crash (its end never reached the disk, its writes never
	// started) or damage followed by its batch's end, which parse refuses:
	// dropping it can never lose a restore. See docs/JOURNAL.md.
	kindEnd = 5
)

// maxPayload bounds one record; larger writes are split. It also bounds what
// a damaged length field can make Rollback allocate.
const maxPayload = 16 << 20

// maxData is the old-bytes payload of one data record.
const maxData = maxPayload - 64

// dataHead is the payload bytes before a data record's old bytes: kind,
// seq, id, offset.
const dataHead = 1 + 4 + 4 + 8

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// header is the journal's first sector.
type header struct {
	flags uint32
	alloc int64 // bytes of the file allocated and synced: a shorter file is damaged
	count int64 // sealed: records in the journal, the seal included
	end   int64 // sealed: where the seal record ends
}

func (h header) marshal() []byte {
	b := make([]byte, headerLen)
	copy(b, magic)
	binary.LittleEndian.PutUint32(b[8:], h.flags)
	binary.LittleEndian.PutUint64(b[12:], uint64(h.alloc))
	binary.LittleEndian.PutUint64(b[20:], uint64(h.count))
	binary.LittleEndian.PutUint64(b[28:], uint64(h.end))
	binary.LittleEndian.PutUint32(b[36:], crc32.Checksum(b[:36], castagnoli))
	return b
}

func parseHeader(b []byte) (header, error) {
	if len(b) < headerLen {
		return header{}, fmt.Errorf("it is %d bytes long, shorter than its %d-byte header", len(b), headerLen)
	}
	if string(b[:len(magic)]) != magic {
		if string(b[:6]) == "PVJRNL" {
			return header{}, fmt.Errorf("it is a journal format (%q) this version of pvinject does not read", b[:len(magic)-1])
		}
		return header{}, errors.New("it does not start like a pvinject journal")
	}
	if crc32.Checksum(b[:36], castagnoli) != binary.LittleEndian.Uint32(b[36:]) {
		return header{}, errors.New("its header fails its checksum")
	}
	h := header{
		flags: binary.LittleEndian.Uint32(b[8:]),
		alloc: int64(binary.LittleEndian.Uint64(b[12:])),
		count: int64(binary.LittleEndian.Uint64(b[20:])),
		end:   int64(binary.LittleEndian.Uint64(b[28:])),
	}
	if h.flags&^(flagSealed|flagRestoring) != 0 || h.alloc < 0 || h.count < 0 || h.end < 0 ||
		(h.flags&flagSealed != 0 && (h.count < 1 || h.end < headerSize)) {
		return header{}, errors.New("its header holds impossible values")
	}
	return h, nil
}

type record struct {
	kind int
	seq  uint32 // position in the journal: 0, 1, 2, ...
	id   uint32
	size int64  // file: original size
	off  int64  // data: offset
	path string // file, create
	data []byte // data: old bytes
	seal []sealFile
	// guest: the byte ranges of the virtual disk the run wrote (seal; empty
	// when the run wrote through no image), so that a refused rollback can
	// name what changed in the guest's terms.
	guest [][2]int64
}

// sealFile is what the seal says about one file the run changed: its size
// and the SHA-256 of each piece of it the run wrote, as it stood when the
// run was verified.
type sealFile struct {
	id     uint32
	size   int64
	chunks []chunk
}

type chunk struct {
	off, n int64
	sum    [32]byte
}

// recLen is the on-disk length of a record with an n-byte payload: records
// are 8-byte aligned, so that a search for valid records after a bad one
// (parse.go) needs to look at aligned positions only.
func recLen(n int) int { return (8 + n + 7) &^ 7 }

// marshal encodes r with its length and checksum, padded with zeros.
func (r record) marshal() []byte {
	var p []byte
	p = append(p, byte(r.kind))
	p = binary.LittleEndian.AppendUint32(p, r.seq)
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
	case kindSeal:
		p = binary.LittleEndian.AppendUint32(p, uint32(len(r.seal)))
		for _, f := range r.seal {
			p = binary.LittleEndian.AppendUint32(p, f.id)
			p = binary.LittleEndian.AppendUint64(p, uint64(f.size))
			p = binary.LittleEndian.AppendUint32(p, uint32(len(f.chunks)))
			for _, c := range f.chunks {
				p = binary.LittleEndian.AppendUint64(p, uint64(c.off))
				p = binary.LittleEndian.AppendUint64(p, uint64(c.n))
				p = append(p, c.sum[:]...)
			}
		}
		p = binary.LittleEndian.AppendUint32(p, uint32(len(r.guest)))
		for _, g := range r.guest {
			p = binary.LittleEndian.AppendUint64(p, uint64(g[0]))
			p = binary.LittleEndian.AppendUint64(p, uint64(g[1]))
		}
	}
	out := make([]byte, recLen(len(p)))
	binary.LittleEndian.PutUint32(out, uint32(len(p)))
	binary.LittleEndian.PutUint32(out[4:], crc32.Checksum(p, castagnoli))
	copy(out[8:], p)
	return out
}

// errBad marks a record that is cut short or fails its checksum: the end of
// an unfinished journal (a torn append) or damage, which parse tells apart.
var errBad = errors.New("journal: bad record")

// recordSize returns the on-disk length of the record whose first 8 bytes
// are b, or errBad when the length cannot be right.
func recordSize(b []byte, left int64) (int64, error) {
	n := int64(binary.LittleEndian.Uint32(b))
	if n < 9 || n > maxPayload || int64(recLen(int(n))) > left {
		return 0, errBad
	}
	return int64(recLen(int(n))), nil
}

// parseRecord decodes the record at the start of b (its whole on-disk
// length).
func parseRecord(b []byte) (record, error) {
	if len(b) < 8 {
		return record{}, errBad
	}
	n := binary.LittleEndian.Uint32(b)
	if n < 9 || n > maxPayload || int64(recLen(int(n))) > int64(len(b)) {
		return record{}, errBad
	}
	p := b[8 : 8+n]
	if crc32.Checksum(p, castagnoli) != binary.LittleEndian.Uint32(b[4:]) {
		return record{}, errBad
	}
	r := record{kind: int(p[0]), seq: binary.LittleEndian.Uint32(p[1:]), id: binary.LittleEndian.Uint32(p[5:])}
	rest := p[9:]
	switch r.kind {
	case kindFile, kindData:
		if len(rest) < 8 {
			return record{}, fmt.Errorf("record kind %d too short", r.kind)
		}
		v := int64(binary.LittleEndian.Uint64(rest))
		if v < 0 {
			return record{}, fmt.Errorf("record kind %d has negative offset or size %d", r.kind, v)
		}
		if r.kind == kindFile {
			r.size, r.path = v, string(rest[8:])
		} else {
			r.off, r.data = v, rest[8:]
		}
	case kindCreate:
		r.path = string(rest)
	case kindEnd:
		if len(rest) != 0 {
			return record{}, errors.New("end record with a body")
		}
	case kindSeal:
		s, g, err := parseSeal(rest)
		if err != nil {
			return record{}, err
		}
		r.seal, r.guest = s, g
	default:
		return record{}, fmt.Errorf("unknown record kind %d", r.kind)
	}
	if (r.kind == kindFile || r.kind == kindCreate) && r.path == "" {
		return record{}, fmt.Errorf("record kind %d without a path", r.kind)
	}
	return r, nil
}

func parseSeal(b []byte) ([]sealFile, [][2]int64, error) {
	bad := errors.New("seal record cut short")
	if len(b) < 4 {
		return nil, nil, bad
	}
	nf := binary.LittleEndian.Uint32(b)
	b = b[4:]
	var out []sealFile
	for i := uint32(0); i < nf; i++ {
		if len(b) < 16 {
			return nil, nil, bad
		}
		f := sealFile{id: binary.LittleEndian.Uint32(b), size: int64(binary.LittleEndian.Uint64(b[4:]))}
		nc := binary.LittleEndian.Uint32(b[12:])
		b = b[16:]
		if f.size < 0 || int64(nc) > int64(len(b))/48 {
			return nil, nil, bad
		}
		for j := uint32(0); j < nc; j++ {
			c := chunk{off: int64(binary.LittleEndian.Uint64(b)), n: int64(binary.LittleEndian.Uint64(b[8:]))}
			copy(c.sum[:], b[16:48])
			b = b[48:]
			if c.off < 0 || c.n <= 0 || c.off > f.size-c.n {
				return nil, nil, fmt.Errorf("seal names bytes %d+%d outside the file's %d bytes", c.off, c.n, f.size)
			}
			f.chunks = append(f.chunks, c)
		}
		out = append(out, f)
	}
	if len(b) < 4 {
		return nil, nil, bad
	}
	ng := binary.LittleEndian.Uint32(b)
	b = b[4:]
	if int64(ng)*16 != int64(len(b)) {
		return nil, nil, errors.New("seal record's guest ranges do not fill it")
	}
	var guest [][2]int64
	for i := uint32(0); i < ng; i++ {
		g := [2]int64{int64(binary.LittleEndian.Uint64(b)), int64(binary.LittleEndian.Uint64(b[8:]))}
		b = b[16:]
		if g[0] < 0 || g[1] <= 0 || g[0] > 1<<62-g[1] {
			return nil, nil, fmt.Errorf("seal names guest bytes %d+%d", g[0], g[1])
		}
		guest = append(guest, g)
	}
	return out, guest, nil
}
