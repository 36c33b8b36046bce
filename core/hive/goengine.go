package hive

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"time"
	"unicode/utf16"
)

// goEngine edits a hive in pure Go, holding the whole file in memory: it
// runs where libhivex cannot (no cgo: Windows, macOS) and, selected with
// PVINJECT_HIVE_ENGINE=go, beside libhivex on Linux. The layout it writes
// is the public REGF format (docs/hive-format.md): cells allocated first-fit
// from the hive's free cells, new hive bins appended when none fits, subkey
// lists kept in Windows' order, big-data records for long values in 1.4+
// hives, security descriptors shared with the parent and reference counted.
//
// Handles are cell offsets (relative to the hive bins). Key cells never
// move once written, so a node stays valid until its key is deleted; a
// vhandle stays valid until its value is deleted or the key's values are
// replaced.
type goEngine struct {
	label    string
	buf      []byte // whole file: base block, hive bins, any padding after
	minor    uint32
	rootOff  uint32
	binsSize uint32
	free     []span // free cells, sorted by offset, adjacent ones merged
	write    bool
	now      func() time.Time
}

// span is a free cell: its offset and its size (header included).
type span struct{ off, size uint32 }

const (
	leafMaxFast  = 507  // lf/lh entries Windows keeps in one leaf before splitting
	leafMaxIndex = 1014 // li entries, likewise
	skRefOff     = 12   // sk: reference count, within the cell data
	nkFlagRoot   = 0x0004
)

// Offsets within an nk record's cell data (msuhanov/regf "Key node").
const (
	nkStamp      = 4
	nkParent     = 16
	nkNSub       = 20
	nkNVolSub    = 24
	nkSubList    = 28
	nkVolList    = 32
	nkNValues    = 36
	nkValList    = 40
	nkSecurity   = 44
	nkClass      = 48
	nkMaxSubName = 52
	nkMaxClass   = 56
	nkMaxValName = 60
	nkMaxValData = 64
	nkNameLen    = 72
	nkClassLen   = 74
)

var le = binary.LittleEndian

// newGoEngine takes over data, a hive whose header has been checked; name
// labels errors.
func newGoEngine(name string, data []byte, write bool) (*goEngine, error) {
	bb, err := checkPrimary(name, data)
	if err != nil {
		return nil, err
	}
	g := &goEngine{label: name, buf: data, minor: bb.Minor, rootOff: bb.RootCell, binsSize: bb.HbinsSize, write: write, now: time.Now}
	if err := g.scanFree(); err != nil {
		return nil, err
	}
	if _, err := g.nkCell(g.rootOff); err != nil {
		return nil, err
	}
	return g, nil
}

// bins is the hive bins data; cell offsets index into it.
func (g *goEngine) bins() []byte { return g.buf[baseBlockSize : baseBlockSize+int(g.binsSize)] }

func (g *goEngine) corrupt(off uint32, st, format string, args ...any) error {
	return formatErr(g.label, baseBlockSize+int64(off), st, ErrCorrupt, format, args...)
}

// scanFree walks every hive bin and records its free cells, merging runs
// of adjacent free cells into one (on disk too), as Windows does when it
// frees a cell.
func (g *goEngine) scanFree() error {
	b := g.bins()
	for off := uint32(0); off < g.binsSize; {
		if g.binsSize-off < hbinHeaderSize || string(b[off:off+4]) != "hbin" {
			return g.corrupt(off, "hbin", "missing hbin signature")
		}
		size := le.Uint32(b[off+8:])
		if size < binAlign || size%binAlign != 0 || size > g.binsSize-off {
			return g.corrupt(off, "hbin", "size 0x%x invalid", size)
		}
		end := off + size
		for p := off + hbinHeaderSize; p < end; {
			if end-p < 4 {
				return g.corrupt(p, "cell", "cell header crosses hbin end")
			}
			sz := int32(le.Uint32(b[p:]))
			n := uint32(sz)
			if sz < 0 {
				n = uint32(-sz)
			}
			if n < 8 || n%8 != 0 || n > end-p {
				return g.corrupt(p, "cell", "cell size %d invalid", sz)
			}
			if sz > 0 {
				if k := len(g.free); k > 0 && g.free[k-1].off+g.free[k-1].size == p {
					g.free[k-1].size += n
					le.PutUint32(b[g.free[k-1].off:], g.free[k-1].size)
				} else {
					g.free = append(g.free, span{p, n})
				}
			}
			p += n
		}
		off = end
	}
	return nil
}

// cell returns the data of the allocated cell at off (after its size).
func (g *goEngine) cell(off uint32, st string) ([]byte, error) {
	b := g.bins()
	if off == noOffset || uint64(off)+4 > uint64(len(b)) || off%8 != 0 {
		return nil, g.corrupt(off, st, "cell offset out of range")
	}
	sz := int32(le.Uint32(b[off:]))
	if sz >= 0 {
		return nil, g.corrupt(off, st, "points at an unallocated cell")
	}
	n := uint64(-int64(sz))
	if n < 8 || uint64(off)+n > uint64(len(b)) {
		return nil, g.corrupt(off, st, "cell size %d out of range", sz)
	}
	return b[off+4 : uint64(off)+n], nil
}

func (g *goEngine) nkCell(off uint32) ([]byte, error) {
	c, err := g.cell(off, "nk")
	if err != nil {
		return nil, err
	}
	if len(c) < nkMinSize || c[0] != 'n' || c[1] != 'k' {
		return nil, g.corrupt(off, "nk", "not a key node")
	}
	if int(le.Uint16(c[nkNameLen:])) > len(c)-nkMinSize {
		return nil, g.corrupt(off, "nk", "name length exceeds cell")
	}
	return c, nil
}

func (g *goEngine) vkCell(off uint32) ([]byte, error) {
	c, err := g.cell(off, "vk")
	if err != nil {
		return nil, err
	}
	if len(c) < vkMinSize || c[0] != 'v' || c[1] != 'k' {
		return nil, g.corrupt(off, "vk", "not a key value")
	}
	if int(le.Uint16(c[2:])) > len(c)-vkMinSize {
		return nil, g.corrupt(off, "vk", "name length exceeds cell")
	}
	return c, nil
}

func nkName(c []byte) (raw []byte, compressed bool) {
	n := int(le.Uint16(c[nkNameLen:]))
	return c[nkMinSize : nkMinSize+n], le.Uint16(c[2:])&nkFlagCompName != 0
}

func vkName(c []byte) (raw []byte, compressed bool) {
	n := int(le.Uint16(c[2:]))
	return c[vkMinSize : vkMinSize+n], le.Uint16(c[16:])&vkFlagCompName != 0
}

// encodeName stores a name as Windows does: one byte a character (the
// "compressed" form) when every character is below 256, else UTF-16LE.
func encodeName(s string) (raw []byte, compressed bool) {
	compressed = true
	for _, r := range s {
		if r > 0xFF {
			compressed = false
			break
		}
	}
	if compressed {
		raw = make([]byte, 0, len(s))
		for _, r := range s {
			raw = append(raw, byte(r))
		}
		return raw, true
	}
	u := utf16.Encode([]rune(s))
	raw = make([]byte, 2*len(u))
	for i, c := range u {
		le.PutUint16(raw[2*i:], c)
	}
	return raw, false
}

// sameName compares a stored name with s case-insensitively, without
// decoding in the common case (a compressed name and an ASCII s).
func sameName(raw []byte, compressed bool, s string) bool {
	if compressed && isASCII(s) {
		if len(raw) != len(s) {
			return false
		}
		for i := range raw {
			a, b := raw[i], s[i]
			if a == b {
				continue
			}
			if a|0x20 != b|0x20 || a|0x20 < 'a' || a|0x20 > 'z' {
				return false
			}
		}
		return true
	}
	return strings.EqualFold(decodeName(raw, compressed), s)
}

// utf16Len is a name's length in UTF-16 code units: the unit of the
// largest-name fields of a key node, which count bytes of UTF-16LE.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// filetime is t as a Windows FILETIME (100 ns ticks since 1601).
func filetime(t time.Time) uint64 {
	return uint64(t.UnixNano()/100) + 116444736000000000
}

func (g *goEngine) root() (node, error) { return node(g.rootOff), nil }

func (g *goEngine) children(n node) ([]node, error) {
	c, err := g.nkCell(uint32(n))
	if err != nil {
		return nil, err
	}
	if le.Uint32(c[nkNSub:]) == 0 {
		return nil, nil
	}
	offs, err := g.subkeyOffsets(le.Uint32(c[nkSubList:]))
	if err != nil {
		return nil, err
	}
	out := make([]node, len(offs))
	for i, o := range offs {
		out[i] = node(o)
	}
	return out, nil
}

// subkeyOffsets lists the key cells of a subkey list, through one level of
// index root.
func (g *goEngine) subkeyOffsets(list uint32) ([]uint32, error) {
	var out []uint32
	err := g.eachLeaf(list, func(leaf uint32, sig string, c []byte, n int) error {
		stride := leafStride(sig)
		for i := 0; i < n; i++ {
			out = append(out, le.Uint32(c[4+i*stride:]))
		}
		return nil
	})
	return out, err
}

func leafStride(sig string) int {
	if sig == "li" {
		return 4
	}
	return 8
}

// leafCell checks a subkey list cell; ri is allowed only when root is set.
func (g *goEngine) leafCell(off uint32, root bool) (c []byte, sig string, n int, err error) {
	if c, err = g.cell(off, "subkey list"); err != nil {
		return nil, "", 0, err
	}
	if len(c) < 4 {
		return nil, "", 0, g.corrupt(off, "subkey list", "too short")
	}
	sig, n = string(c[:2]), int(le.Uint16(c[2:]))
	stride := 4
	switch sig {
	case "lf", "lh":
		stride = 8
	case "li":
	case "ri":
		if !root {
			return nil, "", 0, g.corrupt(off, "ri", "index root inside index root")
		}
	default:
		return nil, "", 0, g.corrupt(off, "subkey list", "unknown signature %q", sig)
	}
	if n*stride > len(c)-4 {
		return nil, "", 0, g.corrupt(off, sig, "%d elements do not fit", n)
	}
	return c, sig, n, nil
}

// eachLeaf calls f for every leaf of the subkey list at off.
func (g *goEngine) eachLeaf(off uint32, f func(leaf uint32, sig string, c []byte, n int) error) error {
	c, sig, n, err := g.leafCell(off, true)
	if err != nil {
		return err
	}
	if sig != "ri" {
		return f(off, sig, c, n)
	}
	for i := 0; i < n; i++ {
		l := le.Uint32(c[4+4*i:])
		lc, lsig, ln, err := g.leafCell(l, false)
		if err != nil {
			return err
		}
		if err := f(l, lsig, lc, ln); err != nil {
			return err
		}
	}
	return nil
}

func (g *goEngine) child(parent node, name string) (node, bool, error) {
	kids, err := g.children(parent)
	if err != nil {
		return 0, false, err
	}
	for _, k := range kids {
		c, err := g.nkCell(uint32(k))
		if err != nil {
			return 0, false, err
		}
		if raw, comp := nkName(c); sameName(raw, comp, name) {
			return k, true, nil
		}
	}
	return 0, false, nil
}

func (g *goEngine) name(n node) (string, error) {
	c, err := g.nkCell(uint32(n))
	if err != nil {
		return "", err
	}
	return decodeName(nkName(c)), nil
}

// keyValues returns key n's record and its vk cells.
func (g *goEngine) keyValues(n node) ([]byte, []uint32, error) {
	c, err := g.nkCell(uint32(n))
	if err != nil {
		return nil, nil, err
	}
	vs, err := g.valueOffsets(c)
	return c, vs, err
}

// valueOffsets lists the vk cells of the key whose record is c.
func (g *goEngine) valueOffsets(c []byte) ([]uint32, error) {
	nv := le.Uint32(c[nkNValues:])
	if nv == 0 {
		return nil, nil
	}
	list := le.Uint32(c[nkValList:])
	l, err := g.cell(list, "value list")
	if err != nil {
		return nil, err
	}
	if uint64(nv)*4 > uint64(len(l)) {
		return nil, g.corrupt(list, "value list", "%d values do not fit in %d bytes", nv, len(l))
	}
	out := make([]uint32, nv)
	for i := range out {
		out[i] = le.Uint32(l[4*i:])
	}
	return out, nil
}

func (g *goEngine) value(n node, name string) (vhandle, bool, error) {
	_, vs, err := g.keyValues(n)
	if err != nil {
		return 0, false, err
	}
	for _, v := range vs {
		vc, err := g.vkCell(v)
		if err != nil {
			return 0, false, err
		}
		if raw, comp := vkName(vc); sameName(raw, comp, name) {
			return vhandle(v), true, nil
		}
	}
	return 0, false, nil
}

func (g *goEngine) valueName(_ node, v vhandle) (string, error) {
	c, err := g.vkCell(uint32(v))
	if err != nil {
		return "", err
	}
	return decodeName(vkName(c)), nil
}

// dataLen is a value's data length from its vk record.
func dataLen(vc []byte) int {
	sz := le.Uint32(vc[4:])
	if sz&dataInlineFlag != 0 {
		return int(sz &^ dataInlineFlag)
	}
	return int(sz)
}

func (g *goEngine) valueData(v vhandle) (Value, error) {
	vc, err := g.vkCell(uint32(v))
	if err != nil {
		return Value{}, err
	}
	typ := Type(le.Uint32(vc[12:]))
	sz, doff := le.Uint32(vc[4:]), le.Uint32(vc[8:])
	if sz&dataInlineFlag != 0 {
		n := sz &^ dataInlineFlag
		if n > 4 {
			return Value{}, g.corrupt(uint32(v), "vk", "inline data of %d bytes", n)
		}
		var b [4]byte
		le.PutUint32(b[:], doff)
		return Value{Type: typ, Data: append([]byte{}, b[:n]...)}, nil
	}
	n := int(sz)
	if n == 0 {
		return Value{Type: typ, Data: []byte{}}, nil
	}
	if n > maxValueDataLen {
		return Value{}, formatErr(g.label, baseBlockSize+int64(v), "vk", ErrTooLarge, "value data of %d bytes", n)
	}
	c, err := g.cell(doff, "value data")
	if err != nil {
		return Value{}, err
	}
	if g.minor > 3 && n > bigDataSegment && len(c) >= 8 && c[0] == 'd' && c[1] == 'b' {
		segs, err := g.dbSegments(doff, c)
		if err != nil {
			return Value{}, err
		}
		out := make([]byte, 0, n)
		for _, s := range segs {
			sc, err := g.cell(s, "db segment")
			if err != nil {
				return Value{}, err
			}
			out = append(out, sc[:min(n-len(out), bigDataSegment, len(sc))]...)
			if len(out) == n {
				break
			}
		}
		if len(out) != n {
			return Value{}, g.corrupt(doff, "db", "segments hold %d of %d bytes", len(out), n)
		}
		return Value{Type: typ, Data: out}, nil
	}
	if n > len(c) {
		return Value{}, g.corrupt(doff, "value data", "%d bytes do not fit in a %d-byte cell", n, len(c))
	}
	return Value{Type: typ, Data: append([]byte{}, c[:n]...)}, nil
}

// dbSegments lists the segment cells of a big-data record.
func (g *goEngine) dbSegments(off uint32, c []byte) ([]uint32, error) {
	n := int(le.Uint16(c[2:]))
	list, err := g.cell(le.Uint32(c[4:]), "db segment list")
	if err != nil {
		return nil, err
	}
	if n*4 > len(list) {
		return nil, g.corrupt(off, "db", "%d segments do not fit in their list", n)
	}
	out := make([]uint32, n)
	for i := range out {
		out[i] = le.Uint32(list[4*i:])
	}
	return out, nil
}

func (g *goEngine) valueSizes(n node) ([]valueSize, error) {
	_, vs, err := g.keyValues(n)
	if err != nil {
		return nil, err
	}
	out := make([]valueSize, len(vs))
	for i, v := range vs {
		vc, err := g.vkCell(v)
		if err != nil {
			return nil, err
		}
		out[i] = valueSize{v: vhandle(v), size: dataLen(vc)}
	}
	return out, nil
}

func (g *goEngine) values(n node) ([]NamedValue, error) {
	_, vs, err := g.keyValues(n)
	if err != nil {
		return nil, err
	}
	out := make([]NamedValue, 0, len(vs))
	for _, v := range vs {
		name, err := g.valueName(n, vhandle(v))
		if err != nil {
			return nil, err
		}
		val, err := g.valueData(vhandle(v))
		if err != nil {
			return nil, fmt.Errorf("value %q: %w", name, err)
		}
		out = append(out, NamedValue{Name: name, Value: val})
	}
	return out, nil
}

func (g *goEngine) close() error {
	g.buf = nil
	g.free = nil
	return nil
}

// commit seals the header: both sequence numbers one past the larger,
// the hive bins size, a fresh timestamp (also in the first bin) and
// checksum. The hive is then contents().
func (g *goEngine) commit() error {
	if !g.write {
		return fmt.Errorf("go hive engine: commit: %w", ErrReadOnly)
	}
	h := g.buf[:baseBlockSize]
	seq := max(le.Uint32(h[offSeq1:]), le.Uint32(h[offSeq2:])) + 1
	ft := filetime(g.now())
	le.PutUint64(h[offTimestamp:], ft)
	// The first bin's timestamp backs up the header's (msuhanov/regf,
	// "Hive bin").
	le.PutUint64(g.bins()[20:], ft)
	sealHeader(h, seq, g.binsSize)
	return nil
}

// contents is a copy of the hive: the engine goes on editing its own.
func (g *goEngine) contents() ([]byte, error) { return bytes.Clone(g.buf), nil }

func (g *goEngine) limits() engineLimits { return engineLimits{} }
