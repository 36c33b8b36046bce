package ntfs

import (
	"fmt"
)

// updateIndexEntry rewrites the $FILE_NAME key of the entry for name in
// directory dir. The key keeps its length, so the node's layout is unchanged.
func (v *Volume) updateIndexEntry(dir *file, name []uint16, mutate func(*fileName)) error {
	d, err := v.openIndex(dir)
	if err != nil {
		return err
	}
	path, found, err := d.search(name)
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("%w: no index entry for %q", ErrCorrupt, fromUTF16(name))
	}
	st := path[len(path)-1]
	e := d.entry(st)
	fn, err := parseFileName(e.Key)
	if err != nil {
		return err
	}
	mutate(fn)
	e.Key = fn.marshal()
	if st.block == nil {
		return d.writeRoot()
	}
	return d.writeBlock(st.block)
}

func (d *dirIndex) entry(st pathStep) *indexEntry {
	if st.block == nil {
		return &d.root.Entries[st.pos]
	}
	return &st.block.Entries[st.pos]
}

func insertEntry(es []indexEntry, pos int, e indexEntry) []indexEntry {
	es = append(es, indexEntry{})
	copy(es[pos+1:], es[pos:])
	es[pos] = e
	return es
}

// insert adds an entry (its key a $FILE_NAME) to the directory's B-tree,
// splitting full blocks and promoting the root into an allocation block
// when the root no longer fits in its MFT record.
func (d *dirIndex) insert(e indexEntry) error {
	fn, err := parseFileName(e.Key)
	if err != nil {
		return err
	}
	path, found, err := d.search(fn.Name)
	if err != nil {
		return err
	}
	if found {
		return fmt.Errorf("%q in directory record %d: %w", fromUTF16(fn.Name), d.f.base.Num, ErrExist)
	}
	// A split below allocates blocks, and each may lengthen the record's
	// $INDEX_ALLOCATION runlist and $BITMAP. When the record has no room
	// left for that, the root's entries move down a level first, as they do
	// when the root itself overflows (found by TestModel with
	// NTFS_MODEL_SEED=1795328970405140977: a 1 KiB root directory record
	// filled by promoted long names).
	if slack := recordSlack(len(path)); d.f.recordOf(d.rootAttr).freeSpace() < slack && len(d.root.Entries) > 1 {
		// Room for the promotion (a block and its split) and for the
		// insertion one level deeper, before anything is written.
		if err := d.ensureBlocks(len(path) + 4); err != nil {
			return err
		}
		if err := d.promoteRoot(d.f.recordOf(d.rootAttr)); err != nil {
			return err
		}
		if path, _, err = d.search(fn.Name); err != nil {
			return err
		}
	}
	// Every level may split and the root may be promoted: make sure that
	// many blocks can be had before the first byte of the index changes.
	if err := d.ensureBlocks(len(path) + 1); err != nil {
		return err
	}
	ins := e
	for cur := len(path) - 1; cur >= 0; cur-- {
		st := path[cur]
		if st.block == nil {
			d.root.Entries = insertEntry(d.root.Entries, st.pos, ins)
			return d.writeRoot()
		}
		st.block.Entries = insertEntry(st.block.Entries, st.pos, ins)
		med, err := d.splitOrWrite(st.block)
		if err != nil || med == nil {
			return err
		}
		ins = *med
	}
	return fmt.Errorf("%w: index path of directory record %d has no root", ErrCorrupt, d.f.base.Num)
}

// splitOrWrite writes blk when it fits; otherwise it moves its lower half
// into a new block and returns the median entry (pointing at the new block)
// for insertion into the parent, before the entry that leads to blk.
func (d *dirIndex) splitOrWrite(blk *indexBlock) (*indexEntry, error) {
	capacity := blockCapacity(d.blockSize)
	if entriesSize(blk.Entries) <= capacity {
		return nil, d.writeBlock(blk)
	}
	es := blk.Entries
	// Median by bytes, excluding the end entry.
	total, m := entriesSize(es[:len(es)-1]), 0
	for acc := 0; m < len(es)-2; m++ {
		acc += es[m].size()
		if acc >= total/2 {
			break
		}
	}
	med := es[m]
	vcn, err := d.allocBlock()
	if err != nil {
		return nil, err
	}
	end := indexEntry{Flags: ieLast}
	if med.subnode() {
		end.Flags |= ieSubnode
		end.Child = med.Child
	}
	left := &indexBlock{VCN: vcn, size: d.blockSize, Flags: blk.Flags}
	left.Entries = append(append([]indexEntry(nil), es[:m]...), end)
	blk.Entries = append([]indexEntry(nil), es[m+1:]...)
	if entriesSize(left.Entries) > capacity || entriesSize(blk.Entries) > capacity {
		return nil, fmt.Errorf("%w: index entry too large to split", ErrUnsupported)
	}
	if err := d.writeBlock(left); err != nil {
		return nil, err
	}
	if err := d.writeBlock(blk); err != nil {
		return nil, err
	}
	med.Flags |= ieSubnode
	med.Child = vcn
	d.v.log.Debug("ntfs: index block split", "directory", d.f.base.Num, "block", blk.VCN, "new_block", vcn)
	return &med, nil
}

// writeRoot stores the root in its record, promoting its entries into a new
// allocation block when the record would overflow.
func (d *dirIndex) writeRoot() error {
	ra := d.rootAttr
	ra.Value = d.root.marshal()
	ra.dirty = true
	rec := d.f.recordOf(ra)
	if rec.freeSpace() >= 0 {
		return d.v.writeRecord(rec)
	}
	return d.promoteRoot(rec)
}

// recordSlack is the room an insertion at this depth may need in the
// directory's record for $INDEX_ALLOCATION and $BITMAP growth: a bitmap
// step of 8 bytes and a new run (up to 1+8+8 bytes, rounded) for each
// block the insertion may allocate.
func recordSlack(depth int) int { return 8 + 24*(depth+1) }

// promoteRoot moves every root entry down one level into a new allocation
// block (split if needed) and leaves the root with one entry pointing at it.
func (d *dirIndex) promoteRoot(rec *record) error {
	ra := d.rootAttr
	// The root shrinks first so the record has room for $INDEX_ALLOCATION
	// and $BITMAP.
	moved := d.root.Entries
	blk := &indexBlock{size: d.blockSize}
	if d.root.Flags&ihLarge != 0 {
		blk.Flags = ihLarge
	}
	d.root.Entries = []indexEntry{{Flags: ieLast | ieSubnode}}
	d.root.Flags = ihLarge
	ra.Value = d.root.marshal()
	ra.dirty = true
	vcn, err := d.allocBlock()
	if err != nil {
		return err
	}
	d.root.Entries[0].Child = vcn
	d.v.log.Debug("ntfs: index root promoted", "directory", d.f.base.Num, "vcn", vcn)
	blk.VCN = vcn
	blk.Entries = moved
	med, err := d.splitOrWrite(blk)
	if err != nil {
		return err
	}
	if med != nil {
		d.root.Entries = insertEntry(d.root.Entries, 0, *med)
	}
	ra.Value = d.root.marshal()
	ra.dirty = true
	if rec.freeSpace() < 0 {
		return fmt.Errorf("directory record %d: index root does not fit after promotion: %w", d.f.base.Num, ErrUnsupported)
	}
	return d.v.writeRecord(rec)
}

func (d *dirIndex) writeBlock(blk *indexBlock) error {
	b, err := blk.marshal()
	if err != nil {
		return err
	}
	return d.alloc.writeFull(b, blk.VCN*d.vcnSize)
}

// ensureBlocks fails with ErrNoSpace unless n index blocks could be
// allocated, from free slots of $INDEX_ALLOCATION or free clusters.
func (d *dirIndex) ensureBlocks(n int) error {
	free := 0
	if ia, bmA := d.f.first(atIndexAlloc, i30), d.f.first(atBitmap, i30); ia != nil && bmA != nil && !bmA.NonRes {
		slots := int(ia.AllocSize / int64(d.blockSize))
		for i := 0; i < slots && free < n; i++ {
			if i/8 >= len(bmA.Value) || bmA.Value[i/8]&(1<<(i%8)) == 0 {
				free++
			}
		}
	}
	if free >= n {
		return nil
	}
	cs := d.v.boot.ClusterSize
	clusters := (int64(n-free)*int64(d.blockSize) + cs - 1) / cs
	bm, err := d.v.clusterBitmap()
	if err != nil {
		return err
	}
	ok, err := bm.hasFree(clusters)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: directory record %d needs room for %d index blocks", ErrNoSpace, d.f.base.Num, n-free)
	}
	return nil
}

// allocBlock reserves a free index block, creating or growing
// $INDEX_ALLOCATION and its $BITMAP as needed, and returns its VCN.
func (d *dirIndex) allocBlock() (int64, error) {
	v, f := d.v, d.f
	ia := f.first(atIndexAlloc, i30)
	bmA := f.first(atBitmap, i30)
	if (ia == nil) != (bmA == nil) {
		return 0, fmt.Errorf("%w: directory record %d has only one of $INDEX_ALLOCATION and $BITMAP", ErrCorrupt, f.base.Num)
	}
	if ia == nil {
		ia = &attr{Type: atIndexAlloc, Name: toUTF16(i30), NonRes: true, HighVCN: -1}
		bmA = &attr{Type: atBitmap, Name: toUTF16(i30), Value: make([]byte, 8)}
		f.base.add(ia)
		f.base.add(bmA)
	}
	if len(f.attrs(atIndexAlloc, i30)) > 1 || bmA.NonRes {
		return 0, fmt.Errorf("directory record %d: index spread over several records: %w", f.base.Num, ErrUnsupported)
	}
	bits := bmA.Value
	bit := -1
	for i := 0; i < len(bits)*8; i++ {
		if bits[i/8]&(1<<(i%8)) == 0 {
			bit = i
			break
		}
	}
	if bit < 0 {
		bit = len(bits) * 8
		bmA.Value = append(bmA.Value, make([]byte, 8)...)
	}
	bmA.Value[bit/8] |= 1 << (bit % 8)
	bmA.dirty = true
	end := int64(bit+1) * int64(d.blockSize)
	cs := v.boot.ClusterSize
	if end > ia.AllocSize {
		bm, err := v.clusterBitmap()
		if err != nil {
			return 0, err
		}
		need := (end - ia.AllocSize + cs - 1) / cs
		hint := int64(0)
		if n := len(ia.Runs); n > 0 {
			hint = ia.Runs[n-1].LCN + ia.Runs[n-1].Length
		}
		got, err := bm.allocate(need, hint)
		if err != nil {
			return 0, err
		}
		runs := append([]run(nil), ia.Runs...)
		for _, r := range got {
			runs = appendRun(runs, r)
		}
		ia.setRuns(runs, cs, ia.DataSize, ia.InitSize)
	}
	if end > ia.DataSize {
		ia.DataSize, ia.InitSize = end, end
		ia.dirty = true
	}
	d.alloc = &stream{v: v, nonRes: true, runs: ia.Runs, size: ia.DataSize, init: ia.InitSize, alloc: ia.AllocSize}
	if err := v.writeRecord(f.recordOf(ia)); err != nil {
		return 0, err
	}
	return int64(bit) * int64(d.blockSize) / d.vcnSize, nil
}
