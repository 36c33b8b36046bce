package hive

import (
	"fmt"
	"sort"
	"unicode"
	"unicode/utf16"
)

// Edits for goEngine. Any cell slice is stale after an allocation (the
// buffer may grow), so records are looked up again after every alloc.

func (g *goEngine) writable() error {
	if !g.write {
		return fmt.Errorf("go hive engine: %w", ErrReadOnly)
	}
	return nil
}

// upcaseUnits is a name as Windows compares it: UTF-16 code units, each
// upper-cased on its own (RtlUpcaseUnicodeChar works unit by unit).
func upcaseUnits(raw []byte, compressed bool) []uint16 {
	var u []uint16
	if compressed {
		u = make([]uint16, len(raw))
		for i, b := range raw {
			u[i] = uint16(b)
		}
	} else {
		u = bytesU16(raw)
	}
	for i, c := range u {
		if utf16.IsSurrogate(rune(c)) {
			continue
		}
		if r := unicode.ToUpper(rune(c)); r < 0x10000 {
			u[i] = uint16(r)
		}
	}
	return u
}

func compareUnits(a, b []uint16) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	return len(a) - len(b)
}

// lhHash is a hash leaf's hash of a name: H = 37*H + C over the
// upper-cased UTF-16 units (msuhanov/regf, "Hash leaf").
func lhHash(up []uint16) uint32 {
	var h uint32
	for _, c := range up {
		h = 37*h + uint32(c)
	}
	return h
}

// lfHint is a fast leaf's name hint: the name's first four characters as
// stored, zero-padded; a name with a character above 255 there gets no
// hint (it has no one-byte form).
func lfHint(name string) [4]byte {
	var h [4]byte
	i := 0
	for _, r := range name {
		if i == 4 {
			break
		}
		if r > 0xFF {
			return [4]byte{}
		}
		h[i] = byte(r)
		i++
	}
	return h
}

// leafElement is one subkey list element for key off named name.
func leafElement(sig string, off uint32, name string) []byte {
	if sig == "li" {
		return le.AppendUint32(nil, off)
	}
	e := le.AppendUint32(make([]byte, 0, 8), off)
	if sig == "lh" {
		raw, comp := encodeName(name)
		return le.AppendUint32(e, lhHash(upcaseUnits(raw, comp)))
	}
	h := lfHint(name)
	return append(e, h[:]...)
}

func leafMax(sig string) int {
	if sig == "li" {
		return leafMaxIndex
	}
	return leafMaxFast
}

// keyOf is the comparison key of the key cell at off.
func (g *goEngine) keyOf(off uint32) ([]uint16, error) {
	c, err := g.nkCell(off)
	if err != nil {
		return nil, err
	}
	return upcaseUnits(nkName(c)), nil
}

func (g *goEngine) addChild(parent node, name string) (node, error) {
	if err := g.writable(); err != nil {
		return 0, err
	}
	pc, err := g.nkCell(uint32(parent))
	if err != nil {
		return 0, err
	}
	sk := le.Uint32(pc[nkSecurity:])
	raw, comp := encodeName(name)
	if len(raw) > 0xFFFF {
		return 0, fmt.Errorf("go hive engine: key name %q: %w", name, ErrTooLarge)
	}
	rec := make([]byte, nkMinSize+len(raw))
	copy(rec, "nk")
	if comp {
		le.PutUint16(rec[2:], nkFlagCompName)
	}
	stamp := filetime(g.now())
	le.PutUint64(rec[nkStamp:], stamp)
	le.PutUint32(rec[nkParent:], uint32(parent))
	le.PutUint32(rec[nkSubList:], noOffset)
	le.PutUint32(rec[nkVolList:], noOffset)
	le.PutUint32(rec[nkValList:], noOffset)
	le.PutUint32(rec[nkSecurity:], sk)
	le.PutUint32(rec[nkClass:], noOffset)
	le.PutUint16(rec[nkNameLen:], uint16(len(raw)))
	copy(rec[nkMinSize:], raw)
	off, err := g.newCell(rec)
	if err != nil {
		return 0, err
	}
	// A new key shares its parent's security descriptor, as Windows'
	// default inheritance gives it the same one.
	if sk != noOffset {
		skc, err := g.skCell(sk)
		if err != nil {
			return 0, err
		}
		le.PutUint32(skc[skRefOff:], le.Uint32(skc[skRefOff:])+1)
	}
	if err := g.insertSubkey(uint32(parent), off, name); err != nil {
		return 0, err
	}
	pc, err = g.nkCell(uint32(parent))
	if err != nil {
		return 0, err
	}
	le.PutUint32(pc[nkNSub:], le.Uint32(pc[nkNSub:])+1)
	if m, l := le.Uint32(pc[nkMaxSubName:]), uint32(2*utf16Len(name)); l > m&0xFFFF {
		// Windows 10 keeps flags in the upper half of this field.
		le.PutUint32(pc[nkMaxSubName:], m&^0xFFFF|l)
	}
	le.PutUint64(pc[nkStamp:], stamp)
	return node(off), nil
}

func (g *goEngine) skCell(off uint32) ([]byte, error) {
	c, err := g.cell(off, "sk")
	if err != nil {
		return nil, err
	}
	if len(c) < 20 || c[0] != 's' || c[1] != 'k' {
		return nil, g.corrupt(off, "sk", "not a security record")
	}
	return c, nil
}

// insertSubkey puts key off, named name, into parent's subkey list at its
// place in Windows' order, splitting leaves that grow past what Windows
// keeps in one.
func (g *goEngine) insertSubkey(parent, off uint32, name string) error {
	pc, err := g.nkCell(parent)
	if err != nil {
		return err
	}
	list := le.Uint32(pc[nkSubList:])
	if le.Uint32(pc[nkNSub:]) == 0 || list == noOffset {
		sig := "lh"
		if g.minor < 5 {
			sig = "lf"
		}
		leaf := append([]byte(sig), 1, 0)
		leaf = append(leaf, leafElement(sig, off, name)...)
		l, err := g.newCell(leaf)
		if err != nil {
			return err
		}
		return g.setNK(parent, nkSubList, l)
	}
	raw, comp := encodeName(name)
	key := upcaseUnits(raw, comp)
	_, sig, n, err := g.leafCell(list, true)
	if err != nil {
		return err
	}
	if sig != "ri" {
		left, right, err := g.insertInLeaf(list, off, name, key)
		if err != nil {
			return err
		}
		if right == noOffset {
			return g.setNK(parent, nkSubList, left)
		}
		ri, err := g.newCell(append([]byte("ri\x02\x00"), le.AppendUint32(le.AppendUint32(nil, left), right)...))
		if err != nil {
			return err
		}
		return g.setNK(parent, nkSubList, ri)
	}
	// Index root: the first leaf whose last key sorts at or after the new
	// one takes it; past all of them, the last leaf does.
	rc, _, _, _ := g.leafCell(list, true)
	leaves := make([]uint32, n)
	for i := range leaves {
		leaves[i] = le.Uint32(rc[4+4*i:])
	}
	if n == 0 {
		return g.corrupt(list, "ri", "empty index root")
	}
	j := n - 1
	for i, l := range leaves {
		lc, lsig, ln, err := g.leafCell(l, false)
		if err != nil {
			return err
		}
		if ln == 0 {
			continue
		}
		last, err := g.keyOf(le.Uint32(lc[4+(ln-1)*leafStride(lsig):]))
		if err != nil {
			return err
		}
		if compareUnits(key, last) <= 0 {
			j = i
			break
		}
	}
	left, right, err := g.insertInLeaf(leaves[j], off, name, key)
	if err != nil {
		return err
	}
	leaves[j] = left
	if right != noOffset {
		leaves = append(leaves[:j+1], append([]uint32{right}, leaves[j+1:]...)...)
	}
	if len(leaves) > 0xFFFF {
		return fmt.Errorf("go hive engine: too many subkeys: %w", ErrTooLarge)
	}
	rec := append([]byte("ri"), byte(len(leaves)), byte(len(leaves)>>8))
	for _, l := range leaves {
		rec = le.AppendUint32(rec, l)
	}
	nl, err := g.rewrite(list, rec)
	if err != nil {
		return err
	}
	return g.setNK(parent, nkSubList, nl)
}

// insertInLeaf adds the element for key off to the leaf at leaf, in
// order. It returns where the leaf now is and, if it had to be split, the
// second half's new leaf (else noOffset).
func (g *goEngine) insertInLeaf(leaf, off uint32, name string, key []uint16) (left, right uint32, err error) {
	c, sig, n, err := g.leafCell(leaf, false)
	if err != nil {
		return 0, 0, err
	}
	stride := leafStride(sig)
	elems := append([]byte(nil), c[4:4+n*stride]...)
	var serr error
	pos := sort.Search(n, func(i int) bool {
		k, err := g.keyOf(le.Uint32(elems[i*stride:]))
		if err != nil {
			serr = err
			return true
		}
		return compareUnits(k, key) > 0
	})
	if serr != nil {
		return 0, 0, serr
	}
	e := leafElement(sig, off, name)
	all := make([]byte, 0, len(elems)+stride)
	all = append(append(append(all, elems[:pos*stride]...), e...), elems[pos*stride:]...)
	n++
	build := func(b []byte) []byte {
		m := len(b) / stride
		return append(append([]byte(sig), byte(m), byte(m>>8)), b...)
	}
	if n <= leafMax(sig) {
		left, err = g.rewrite(leaf, build(all))
		return left, noOffset, err
	}
	half := n / 2 * stride
	if left, err = g.rewrite(leaf, build(all[:half])); err != nil {
		return 0, 0, err
	}
	right, err = g.newCell(build(all[half:]))
	return left, right, err
}

// setNK sets a 32-bit field of the key node at off.
func (g *goEngine) setNK(off uint32, field int, v uint32) error {
	c, err := g.nkCell(off)
	if err != nil {
		return err
	}
	le.PutUint32(c[field:], v)
	return nil
}

func (g *goEngine) deleteChild(n node) error {
	if err := g.writable(); err != nil {
		return err
	}
	c, err := g.nkCell(uint32(n))
	if err != nil {
		return err
	}
	if uint32(n) == g.rootOff || le.Uint16(c[2:])&nkFlagRoot != 0 {
		return fmt.Errorf("go hive engine: the root key cannot be deleted: %w", ErrType)
	}
	parent := le.Uint32(c[nkParent:])
	if err := g.removeSubkey(parent, uint32(n)); err != nil {
		return err
	}
	pc, err := g.nkCell(parent)
	if err != nil {
		return err
	}
	le.PutUint64(pc[nkStamp:], filetime(g.now()))
	return g.freeTree(uint32(n))
}

// removeSubkey drops key off from parent's subkey list and count.
func (g *goEngine) removeSubkey(parent, off uint32) error {
	pc, err := g.nkCell(parent)
	if err != nil {
		return err
	}
	nsub, list := le.Uint32(pc[nkNSub:]), le.Uint32(pc[nkSubList:])
	if nsub == 0 {
		return g.corrupt(parent, "nk", "parent of the key to delete has no subkeys")
	}
	found := false
	// drop removes off from a leaf; it reports whether the leaf is empty.
	drop := func(leaf uint32, sig string, lc []byte, ln int) (bool, error) {
		stride := leafStride(sig)
		for i := 0; i < ln; i++ {
			if le.Uint32(lc[4+i*stride:]) != off {
				continue
			}
			found = true
			copy(lc[4+i*stride:], lc[4+(i+1)*stride:4+ln*stride])
			clear(lc[4+(ln-1)*stride : 4+ln*stride])
			le.PutUint16(lc[2:], uint16(ln-1))
			if ln == 1 {
				return true, g.release(leaf)
			}
			return false, nil
		}
		return false, nil
	}
	rc, sig, n, err := g.leafCell(list, true)
	if err != nil {
		return err
	}
	empty := false
	if sig != "ri" {
		if empty, err = drop(list, sig, rc, n); err != nil {
			return err
		}
	} else {
		for i := 0; i < n && !found; i++ {
			l := le.Uint32(rc[4+4*i:])
			lc, lsig, ln, err := g.leafCell(l, false)
			if err != nil {
				return err
			}
			gone, err := drop(l, lsig, lc, ln)
			if err != nil {
				return err
			}
			if gone {
				copy(rc[4+4*i:], rc[4+4*(i+1):4+4*n])
				clear(rc[4+4*(n-1) : 4+4*n])
				le.PutUint16(rc[2:], uint16(n-1))
				if n == 1 {
					empty = true
					if err := g.release(list); err != nil {
						return err
					}
				}
			}
		}
	}
	if !found {
		return g.corrupt(parent, "nk", "the key to delete is not in its parent's subkey list")
	}
	pc, err = g.nkCell(parent)
	if err != nil {
		return err
	}
	le.PutUint32(pc[nkNSub:], nsub-1)
	if empty || nsub == 1 {
		le.PutUint32(pc[nkSubList:], noOffset)
	}
	return nil
}

// freeTree frees key off and everything below it: values and their data,
// subkey lists, class names, and its hold on its security descriptor.
func (g *goEngine) freeTree(off uint32) error {
	stack := []uint32{off}
	for len(stack) > 0 {
		k := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		c, err := g.nkCell(k)
		if err != nil {
			return err
		}
		vals, err := g.valueOffsets(c)
		if err != nil {
			return err
		}
		var lists []uint32
		if le.Uint32(c[nkNSub:]) > 0 {
			list := le.Uint32(c[nkSubList:])
			err := g.eachLeaf(list, func(leaf uint32, sig string, lc []byte, n int) error {
				stride := leafStride(sig)
				for i := 0; i < n; i++ {
					stack = append(stack, le.Uint32(lc[4+i*stride:]))
				}
				if leaf != list {
					lists = append(lists, leaf)
				}
				return nil
			})
			if err != nil {
				return err
			}
			lists = append(lists, list)
		}
		if len(vals) > 0 {
			lists = append(lists, le.Uint32(c[nkValList:]))
		}
		if le.Uint16(c[nkClassLen:]) > 0 {
			lists = append(lists, le.Uint32(c[nkClass:]))
		}
		sk := le.Uint32(c[nkSecurity:])
		for _, v := range vals {
			if err := g.freeValue(v); err != nil {
				return err
			}
		}
		if err := g.releaseAll(lists...); err != nil {
			return err
		}
		if err := g.derefSK(sk); err != nil {
			return err
		}
		if err := g.release(k); err != nil {
			return err
		}
	}
	return nil
}

// derefSK drops one reference to a security record, unlinking and freeing
// it when none is left.
func (g *goEngine) derefSK(sk uint32) error {
	if sk == noOffset {
		return nil
	}
	c, err := g.skCell(sk)
	if err != nil {
		return err
	}
	if ref := le.Uint32(c[skRefOff:]); ref > 1 {
		le.PutUint32(c[skRefOff:], ref-1)
		return nil
	}
	flink, blink := le.Uint32(c[4:]), le.Uint32(c[8:])
	if flink != sk {
		next, err := g.skCell(flink)
		if err != nil {
			return err
		}
		prev, err := g.skCell(blink)
		if err != nil {
			return err
		}
		le.PutUint32(prev[4:], flink)
		le.PutUint32(next[8:], blink)
	}
	return g.release(sk)
}

// freeValue frees a vk record and its data.
func (g *goEngine) freeValue(v uint32) error {
	vc, err := g.vkCell(v)
	if err != nil {
		return err
	}
	sz, doff := le.Uint32(vc[4:]), le.Uint32(vc[8:])
	if sz&dataInlineFlag == 0 && sz > 0 {
		if err := g.freeData(doff, int(sz)); err != nil {
			return err
		}
	}
	return g.release(v)
}

func (g *goEngine) freeData(off uint32, n int) error {
	c, err := g.cell(off, "value data")
	if err != nil {
		return err
	}
	if g.minor > 3 && n > bigDataSegment && len(c) >= 8 && c[0] == 'd' && c[1] == 'b' {
		segs, err := g.dbSegments(off, c)
		if err != nil {
			return err
		}
		if err := g.releaseAll(segs...); err != nil {
			return err
		}
		if err := g.release(le.Uint32(c[4:])); err != nil {
			return err
		}
	}
	return g.release(off)
}

// storeData writes value data the way Windows does: up to 4 bytes inside
// the vk record, more than 16344 bytes in a 1.4+ hive as a big-data record
// (segments of 16344 bytes), anything else in one cell. It returns the
// vk's data size and data offset fields.
func (g *goEngine) storeData(data []byte) (size, off uint32, err error) {
	n := len(data)
	if n > maxValueDataLen {
		return 0, 0, fmt.Errorf("go hive engine: value of %d bytes: %w", n, ErrTooLarge)
	}
	if n <= 4 {
		var b [4]byte
		copy(b[:], data)
		return uint32(n) | dataInlineFlag, le.Uint32(b[:]), nil
	}
	if g.minor <= 3 || n <= bigDataSegment {
		off, err := g.newCell(data)
		return uint32(n), off, err
	}
	nseg := (n + bigDataSegment - 1) / bigDataSegment
	list := make([]byte, 0, 4*nseg)
	for i := 0; i < n; i += bigDataSegment {
		// Every segment cell gets 4 bytes beyond its data, as a full one
		// has (16344+4 rounds up to 16352): libhivex and libregf read a
		// segment as its cell less 8 bytes, so a last segment without
		// them would lose its tail there.
		piece := data[i:min(n, i+bigDataSegment)]
		s, err := g.alloc(len(piece) + 4)
		if err != nil {
			return 0, 0, err
		}
		copy(g.bins()[s+4:], piece)
		list = le.AppendUint32(list, s)
	}
	l, err := g.newCell(list)
	if err != nil {
		return 0, 0, err
	}
	db := append([]byte("db"), byte(nseg), byte(nseg>>8))
	db = le.AppendUint32(db, l)
	off, err = g.newCell(db)
	return uint32(n), off, err
}

// newVK writes a vk record for v, with its data.
func (g *goEngine) newVK(v NamedValue) (uint32, error) {
	raw, comp := encodeName(v.Name)
	if len(raw) > 0xFFFF {
		return 0, fmt.Errorf("go hive engine: value name %q: %w", v.Name, ErrTooLarge)
	}
	size, doff, err := g.storeData(v.Data)
	if err != nil {
		return 0, err
	}
	rec := make([]byte, vkMinSize+len(raw))
	copy(rec, "vk")
	le.PutUint16(rec[2:], uint16(len(raw)))
	le.PutUint32(rec[4:], size)
	le.PutUint32(rec[8:], doff)
	le.PutUint32(rec[12:], uint32(v.Type))
	if comp {
		le.PutUint16(rec[16:], vkFlagCompName)
	}
	copy(rec[vkMinSize:], raw)
	return g.newCell(rec)
}

func (g *goEngine) setValue(n node, v NamedValue) error {
	if err := g.writable(); err != nil {
		return err
	}
	_, offs, err := g.keyValues(n)
	if err != nil {
		return err
	}
	for _, o := range offs {
		vc, err := g.vkCell(o)
		if err != nil {
			return err
		}
		if decodeName(vkName(vc)) != v.Name {
			continue
		}
		// Replace the data in place: the vk record and its name stay.
		sz, doff := le.Uint32(vc[4:]), le.Uint32(vc[8:])
		if sz&dataInlineFlag == 0 && sz > 0 {
			if err := g.freeData(doff, int(sz)); err != nil {
				return err
			}
		}
		size, noff, err := g.storeData(v.Data)
		if err != nil {
			return err
		}
		vc, err = g.vkCell(o)
		if err != nil {
			return err
		}
		le.PutUint32(vc[4:], size)
		le.PutUint32(vc[8:], noff)
		le.PutUint32(vc[12:], uint32(v.Type))
		return g.touchValues(uint32(n), []NamedValue{v}, false)
	}
	vk, err := g.newVK(v)
	if err != nil {
		return err
	}
	c, err := g.nkCell(uint32(n))
	if err != nil {
		return err
	}
	list := le.Uint32(c[nkValList:])
	if len(offs) == 0 {
		list = noOffset
	}
	rec := make([]byte, 0, 4*(len(offs)+1))
	for _, o := range offs {
		rec = le.AppendUint32(rec, o)
	}
	if list, err = g.rewrite(list, le.AppendUint32(rec, vk)); err != nil {
		return err
	}
	if c, err = g.nkCell(uint32(n)); err != nil {
		return err
	}
	le.PutUint32(c[nkNValues:], uint32(len(offs)+1))
	le.PutUint32(c[nkValList:], list)
	return g.touchValues(uint32(n), []NamedValue{v}, false)
}

// touchValues updates a key's largest value name and data fields (reset
// to vals' when all values were replaced) and its timestamp.
func (g *goEngine) touchValues(k uint32, vals []NamedValue, reset bool) error {
	c, err := g.nkCell(k)
	if err != nil {
		return err
	}
	var mn, md uint32
	if !reset {
		mn, md = le.Uint32(c[nkMaxValName:]), le.Uint32(c[nkMaxValData:])
	}
	for _, v := range vals {
		mn = max(mn, uint32(2*utf16Len(v.Name)))
		md = max(md, uint32(len(v.Data)))
	}
	le.PutUint32(c[nkMaxValName:], mn)
	le.PutUint32(c[nkMaxValData:], md)
	le.PutUint64(c[nkStamp:], filetime(g.now()))
	return nil
}

func (g *goEngine) setValues(n node, vals []NamedValue) error {
	if err := g.writable(); err != nil {
		return err
	}
	c, offs, err := g.keyValues(n)
	if err != nil {
		return err
	}
	for _, o := range offs {
		if err := g.freeValue(o); err != nil {
			return err
		}
	}
	if len(offs) > 0 {
		if err := g.release(le.Uint32(c[nkValList:])); err != nil {
			return err
		}
	}
	list := uint32(noOffset)
	if len(vals) > 0 {
		rec := make([]byte, 0, 4*len(vals))
		for _, v := range vals {
			vk, err := g.newVK(v)
			if err != nil {
				return err
			}
			rec = le.AppendUint32(rec, vk)
		}
		if list, err = g.newCell(rec); err != nil {
			return err
		}
	}
	if c, err = g.nkCell(uint32(n)); err != nil {
		return err
	}
	le.PutUint32(c[nkNValues:], uint32(len(vals)))
	le.PutUint32(c[nkValList:], list)
	return g.touchValues(uint32(n), vals, true)
}
