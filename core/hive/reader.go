package hive

import (
	"bytes"
	"encoding/binary"
	"strings"
	"unicode/utf16"
)

// reader is a small, bounded, read-only REGF parser that shares no code
// with libhivex. It gates what libhivex is given (structure and cycles are
// checked at Open) and checks what libhivex wrote (after every Commit).
// Every offset is range-checked and every count is bounded by the bytes
// that hold it, so hostile input costs at most one pass over the file.
type reader struct {
	name  string
	bins  []byte // hive bins data; cell offsets are relative to it
	minor uint32
	root  uint32
	// pages, when set, replaces bins: cells are read from the file on
	// demand (see lazy.go), for read-only lookups in clean hives.
	pages *pageCache
}

const (
	nkMinSize       = 76
	vkMinSize       = 20
	nkFlagCompName  = 0x0020
	vkFlagCompName  = 0x0001
	bigDataSegment  = 16344 // max bytes of one big-data segment
	maxKeyDepth     = 512   // Windows' own limit on key nesting
	noOffset        = 0xFFFFFFFF
	dataInlineFlag  = 0x80000000
	hbinHeaderSize  = 32
	maxNameLen      = 16383 * 2
	maxValueDataLen = 64 << 20
)

// newReader validates the header and the chain of hive bins and cells.
func newReader(name string, data []byte) (*reader, baseBlock, error) {
	bb, err := checkPrimary(name, data)
	if err != nil {
		return nil, bb, err
	}
	if !bb.ChecksumOK {
		return nil, bb, formatErr(name, offChecksum, "base block", ErrChecksum,
			"stored 0x%08x, computed 0x%08x", bb.Checksum, xorChecksum(data))
	}
	r := &reader{name: name, bins: data[baseBlockSize : baseBlockSize+int(bb.HbinsSize)], minor: bb.Minor, root: bb.RootCell}
	if err := r.checkBins(); err != nil {
		return nil, bb, err
	}
	return r, bb, nil
}

func (r *reader) err(off uint32, st string, sentinel error, format string, args ...any) error {
	return formatErr(r.name, baseBlockSize+int64(off), st, sentinel, format, args...)
}

// checkBins walks every hbin and every cell in it: signatures, offsets,
// sizes multiple of 8 and never crossing the bin.
func (r *reader) checkBins() error {
	le := binary.LittleEndian
	for off := 0; off < len(r.bins); {
		if len(r.bins)-off < hbinHeaderSize || !bytes.Equal(r.bins[off:off+4], []byte("hbin")) {
			return r.err(uint32(off), "hbin", ErrCorrupt, "missing hbin signature")
		}
		if got := le.Uint32(r.bins[off+4:]); got != uint32(off) {
			return r.err(uint32(off), "hbin", ErrCorrupt, "offset field says 0x%x", got)
		}
		size := int(le.Uint32(r.bins[off+8:]))
		if size < binAlign || size%binAlign != 0 || size > len(r.bins)-off {
			return r.err(uint32(off), "hbin", ErrCorrupt, "size 0x%x invalid", size)
		}
		for p := off + hbinHeaderSize; p < off+size; {
			if off+size-p < 4 {
				return r.err(uint32(p), "cell", ErrCorrupt, "cell header crosses hbin end")
			}
			sz := int32(le.Uint32(r.bins[p:]))
			n := int(sz)
			if sz < 0 {
				n = -n
			}
			if n < 8 || n%8 != 0 || n > off+size-p {
				return r.err(uint32(p), "cell", ErrCorrupt, "cell size %d invalid", sz)
			}
			p += n
		}
		off += size
	}
	return nil
}

// cell returns the data of the allocated cell at off.
func (r *reader) cell(off uint32, st string) ([]byte, error) {
	if r.pages != nil {
		return r.lazyCell(off, st)
	}
	if off == noOffset || uint64(off)+4 > uint64(len(r.bins)) {
		return nil, r.err(off, st, ErrCorrupt, "cell offset out of range")
	}
	sz := int32(binary.LittleEndian.Uint32(r.bins[off:]))
	if sz >= 0 {
		return nil, r.err(off, st, ErrCorrupt, "points at an unallocated cell")
	}
	n := uint64(-int64(sz))
	if n < 8 || uint64(off)+n > uint64(len(r.bins)) {
		return nil, r.err(off, st, ErrCorrupt, "cell size %d out of range", sz)
	}
	return r.bins[off+4 : uint64(off)+n], nil
}

type nkRecord struct {
	off      uint32
	rawName  []byte
	compName bool
	nSubkeys uint32
	subList  uint32
	nValues  uint32
	valList  uint32
}

func (r *reader) nk(off uint32) (nkRecord, error) {
	c, err := r.cell(off, "nk")
	if err != nil {
		return nkRecord{}, err
	}
	if len(c) < nkMinSize || c[0] != 'n' || c[1] != 'k' {
		return nkRecord{}, r.err(off, "nk", ErrCorrupt, "not a key node")
	}
	le := binary.LittleEndian
	nameLen := int(le.Uint16(c[72:]))
	if nameLen > len(c)-nkMinSize {
		return nkRecord{}, r.err(off, "nk", ErrCorrupt, "name length %d exceeds cell", nameLen)
	}
	return nkRecord{
		off:      off,
		rawName:  c[nkMinSize : nkMinSize+nameLen],
		compName: le.Uint16(c[2:])&nkFlagCompName != 0,
		nSubkeys: le.Uint32(c[20:]),
		subList:  le.Uint32(c[28:]),
		nValues:  le.Uint32(c[36:]),
		valList:  le.Uint32(c[40:]),
	}, nil
}

// name decodes the key's name; it is left raw until asked for because the
// structural walk over a whole hive never needs it.
func (k nkRecord) name() string { return decodeName(k.rawName, k.compName) }

// decodeName decodes a key or value name: Latin-1 when compressed (that
// is what Windows' "ASCII (extended)" means), UTF-16LE otherwise.
func decodeName(b []byte, compressed bool) string {
	if compressed {
		rs := make([]rune, len(b))
		for i, c := range b {
			rs[i] = rune(c)
		}
		return string(rs)
	}
	return string(utf16.Decode(bytesU16(b)))
}

// subkeys returns the nk offsets listed by a key's subkey list, following
// one level of index root ("ri") as the format allows.
func (r *reader) subkeys(k nkRecord) ([]uint32, error) {
	if k.nSubkeys == 0 {
		return nil, nil
	}
	return r.subkeyList(k.subList, true)
}

func (r *reader) subkeyList(off uint32, allowRoot bool) ([]uint32, error) {
	c, err := r.cell(off, "subkey list")
	if err != nil {
		return nil, err
	}
	if len(c) < 4 {
		return nil, r.err(off, "subkey list", ErrCorrupt, "too short")
	}
	le := binary.LittleEndian
	sig, n := string(c[:2]), int(le.Uint16(c[2:]))
	stride := 4
	switch sig {
	case "lf", "lh":
		stride = 8
	case "li":
	case "ri":
		if !allowRoot {
			return nil, r.err(off, "ri", ErrCorrupt, "index root inside index root")
		}
	default:
		return nil, r.err(off, "subkey list", ErrCorrupt, "unknown signature %q", sig)
	}
	if n*stride > len(c)-4 {
		return nil, r.err(off, sig, ErrCorrupt, "%d elements do not fit in %d bytes", n, len(c)-4)
	}
	var out []uint32
	for i := 0; i < n; i++ {
		e := le.Uint32(c[4+i*stride:])
		if sig != "ri" {
			out = append(out, e)
			continue
		}
		sub, err := r.subkeyList(e, false)
		if err != nil {
			return nil, err
		}
		// An index root may name the same big leaf many times; no key can
		// have more subkeys than there is room for key cells.
		if len(out)+len(sub) > r.maxKeys() {
			return nil, r.err(off, "ri", ErrCorrupt, "lists more subkeys than the hive can hold")
		}
		out = append(out, sub...)
	}
	return out, nil
}

// maxKeys bounds how many key (or value) records the hive bins can hold,
// which bounds every count and every walk.
func (r *reader) maxKeys() int { return r.binsLen()/(vkMinSize+4) + 1 }

func (r *reader) binsLen() int {
	if r.pages != nil {
		return int(r.pages.size)
	}
	return len(r.bins)
}

// child finds a subkey by name, case-insensitively as Windows does.
func (r *reader) child(k nkRecord, name string) (nkRecord, bool, error) {
	offs, err := r.subkeys(k)
	if err != nil {
		return nkRecord{}, false, err
	}
	for _, o := range offs {
		c, err := r.nk(o)
		if err != nil {
			return nkRecord{}, false, err
		}
		if strings.EqualFold(c.name(), name) {
			return c, true, nil
		}
	}
	return nkRecord{}, false, nil
}

// lookup resolves a path of key names from the root.
func (r *reader) lookup(parts []string) (nkRecord, bool, error) {
	k, err := r.nk(r.root)
	if err != nil {
		return nkRecord{}, false, err
	}
	for _, p := range parts {
		c, ok, err := r.child(k, p)
		if err != nil || !ok {
			return nkRecord{}, ok, err
		}
		k = c
	}
	return k, true, nil
}

type vkRecord struct {
	off      uint32
	rawName  []byte
	compName bool
	typ      Type
	dataSize uint32
	dataOff  uint32
}

func (r *reader) valueRecords(k nkRecord) ([]vkRecord, error) {
	if k.nValues == 0 {
		return nil, nil
	}
	c, err := r.cell(k.valList, "value list")
	if err != nil {
		return nil, err
	}
	if uint64(k.nValues)*4 > uint64(len(c)) {
		return nil, r.err(k.valList, "value list", ErrCorrupt, "%d values do not fit in %d bytes", k.nValues, len(c))
	}
	le := binary.LittleEndian
	out := make([]vkRecord, 0, k.nValues)
	for i := 0; i < int(k.nValues); i++ {
		off := le.Uint32(c[4*i:])
		v, err := r.cell(off, "vk")
		if err != nil {
			return nil, err
		}
		if len(v) < vkMinSize || v[0] != 'v' || v[1] != 'k' {
			return nil, r.err(off, "vk", ErrCorrupt, "not a key value")
		}
		nameLen := int(le.Uint16(v[2:]))
		if nameLen > len(v)-vkMinSize {
			return nil, r.err(off, "vk", ErrCorrupt, "name length %d exceeds cell", nameLen)
		}
		out = append(out, vkRecord{
			off:      off,
			rawName:  v[vkMinSize : vkMinSize+nameLen],
			compName: le.Uint16(v[16:])&vkFlagCompName != 0,
			typ:      Type(le.Uint32(v[12:])),
			dataSize: le.Uint32(v[4:]),
			dataOff:  le.Uint32(v[8:]),
		})
	}
	return out, nil
}

// data returns a value's bytes: inline, in one cell, or in big-data
// segments (hive minor version > 3 and more than 16344 bytes).
func (r *reader) data(v vkRecord) ([]byte, error) {
	if v.dataSize&dataInlineFlag != 0 {
		n := v.dataSize &^ dataInlineFlag
		if n > 4 {
			return nil, r.err(v.off, "vk", ErrCorrupt, "inline data of %d bytes", n)
		}
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], v.dataOff)
		return append([]byte{}, b[:n]...), nil
	}
	n := int(v.dataSize)
	if n == 0 {
		return []byte{}, nil
	}
	if n > maxValueDataLen {
		return nil, r.err(v.off, "vk", ErrTooLarge, "value data of %d bytes", n)
	}
	c, err := r.cell(v.dataOff, "value data")
	if err != nil {
		return nil, err
	}
	if r.minor > 3 && n > bigDataSegment && len(c) >= 8 && c[0] == 'd' && c[1] == 'b' {
		return r.bigData(v.dataOff, c, n)
	}
	if n > len(c) {
		return nil, r.err(v.dataOff, "value data", ErrCorrupt, "%d bytes do not fit in a %d-byte cell", n, len(c))
	}
	return append([]byte{}, c[:n]...), nil
}

func (r *reader) bigData(off uint32, c []byte, n int) ([]byte, error) {
	le := binary.LittleEndian
	segs := int(le.Uint16(c[2:]))
	list, err := r.cell(le.Uint32(c[4:]), "db segment list")
	if err != nil {
		return nil, err
	}
	if segs*4 > len(list) {
		return nil, r.err(off, "db", ErrCorrupt, "%d segments do not fit in their list", segs)
	}
	out := make([]byte, 0, min(n, r.binsLen()))
	for i := 0; i < segs && len(out) < n; i++ {
		s, err := r.cell(le.Uint32(list[4*i:]), "db segment")
		if err != nil {
			return nil, err
		}
		take := min(n-len(out), bigDataSegment, len(s))
		out = append(out, s[:take]...)
	}
	if len(out) != n {
		return nil, r.err(off, "db", ErrCorrupt, "segments hold %d of %d bytes", len(out), n)
	}
	return out, nil
}

// value finds a value by name, case-insensitively.
func (r *reader) value(k nkRecord, name string) (Value, bool, error) {
	vs, err := r.valueRecords(k)
	if err != nil {
		return Value{}, false, err
	}
	for _, v := range vs {
		if strings.EqualFold(decodeName(v.rawName, v.compName), name) {
			d, err := r.data(v)
			return Value{Type: v.typ, Data: d}, err == nil, err
		}
	}
	return Value{}, false, nil
}

// walk visits every key once, depth first, and fails on a key reached
// twice (a cycle, or a subtree shared between parents, which Windows
// never writes) or nesting deeper than Windows allows. visit may be nil.
func (r *reader) walk(visit func(path []string, k nkRecord) error) error {
	type item struct {
		off    uint32
		parent []string // names above this key, kept only for visit
		depth  int
		root   bool
	}
	seen := make(map[uint32]bool)
	// In a sound hive every key and value record is listed exactly once, so
	// the references followed cannot exceed the records there is room for;
	// without this, lists shared between keys make the walk quadratic.
	budget := 2 * r.maxKeys()
	stack := []item{{off: r.root, root: true}}
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[it.off] {
			return r.err(it.off, "nk", ErrCycle, "a subkey list at depth %d points back to a key already in the tree", it.depth)
		}
		if it.depth > maxKeyDepth {
			return r.err(it.off, "nk", ErrCycle, "keys nested deeper than %d", maxKeyDepth)
		}
		seen[it.off] = true
		k, err := r.nk(it.off)
		if err != nil {
			return err
		}
		path := it.parent
		if !it.root && visit != nil {
			path = append(append(make([]string, 0, len(it.parent)+1), it.parent...), k.name())
		}
		budget -= int(min(k.nValues, uint32(budget)))
		if _, err := r.valueRecords(k); err != nil {
			return err
		}
		if visit != nil {
			if err := visit(path, k); err != nil {
				return err
			}
		}
		subs, err := r.subkeys(k)
		if err != nil {
			return err
		}
		if budget -= len(subs); budget < 0 {
			return r.err(it.off, "nk", ErrCorrupt, "key and value lists reference more records than the hive holds (shared lists)")
		}
		for i := len(subs) - 1; i >= 0; i-- {
			stack = append(stack, item{off: subs[i], parent: path, depth: it.depth + 1})
		}
	}
	return nil
}
