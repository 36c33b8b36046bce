package ntfs

import "fmt"

// dirIndex gives access to a directory's $I30 B-tree.
type dirIndex struct {
	v         *Volume
	f         *file
	root      *indexRoot
	rootAttr  *attr
	alloc     *stream // nil for a small index
	blockSize int
	vcnSize   int64
}

const maxIndexDepth = 32

const i30 = "$I30"

func (v *Volume) openIndex(f *file) (*dirIndex, error) {
	ra := f.first(atIndexRoot, i30)
	if ra == nil || ra.NonRes {
		return nil, fmt.Errorf("ntfs: MFT record %d: %w", f.base.Num, ErrNotDir)
	}
	root, err := parseIndexRoot(ra.Value)
	if err != nil {
		return nil, fmt.Errorf("ntfs: directory record %d: %w", f.base.Num, err)
	}
	d := &dirIndex{v: v, f: f, root: root, rootAttr: ra, blockSize: root.BlockSize, vcnSize: v.boot.ClusterSize}
	// Blocks smaller than a cluster are addressed in 512-byte units.
	if int64(d.blockSize) < v.boot.ClusterSize {
		d.vcnSize = 512
	}
	if f.first(atIndexAlloc, i30) != nil {
		d.alloc, err = f.stream(atIndexAlloc, i30)
		if err != nil {
			return nil, fmt.Errorf("ntfs: directory record %d $INDEX_ALLOCATION: %w", f.base.Num, err)
		}
	}
	return d, nil
}

func (d *dirIndex) blockStructure(vcn int64) string {
	return fmt.Sprintf("index block VCN %d of directory record %d", vcn, d.f.base.Num)
}

func (d *dirIndex) readBlock(vcn int64) (*indexBlock, error) {
	if d.alloc == nil {
		return nil, corrupt(d.blockStructure(vcn), -1, "subnode without $INDEX_ALLOCATION")
	}
	off := vcn * d.vcnSize
	if vcn < 0 || off+int64(d.blockSize) > d.alloc.size {
		return nil, corrupt(d.blockStructure(vcn), -1, "outside the %d-byte allocation", d.alloc.size)
	}
	b := make([]byte, d.blockSize)
	if err := d.alloc.readFull(b, off); err != nil {
		return nil, fmt.Errorf("ntfs: %s: %w", d.blockStructure(vcn), err)
	}
	ib, err := parseIndexBlock(b, d.blockStructure(vcn), d.alloc.volOffset(off))
	if err != nil {
		return nil, err
	}
	if ib.VCN != vcn {
		return nil, corrupt(d.blockStructure(vcn), d.alloc.volOffset(off), "block says VCN %d", ib.VCN)
	}
	return ib, nil
}

// pathStep records one node visited on the way down the tree: the block
// (nil for the root) and the index of the entry followed or found.
type pathStep struct {
	block *indexBlock
	pos   int
}

// search descends towards name. It returns the path to the entry when found
// (last step's pos indexes it), or to the leaf position where name would be
// inserted.
func (d *dirIndex) search(name []uint16) (path []pathStep, found bool, err error) {
	entries := d.root.Entries
	var blk *indexBlock
	for depth := 0; ; depth++ {
		if depth > maxIndexDepth {
			return nil, false, corrupt(fmt.Sprintf("index of directory record %d", d.f.base.Num), -1, "deeper than %d levels", maxIndexDepth)
		}
		if len(entries) == 0 {
			return nil, false, corrupt(fmt.Sprintf("index of directory record %d", d.f.base.Num), -1, "node without entries")
		}
		pos := len(entries) - 1
		for i := range entries {
			e := &entries[i]
			if e.last() {
				pos = i
				break
			}
			fn, err := parseFileName(e.Key)
			if err != nil {
				return nil, false, fmt.Errorf("ntfs: directory record %d: %w", d.f.base.Num, err)
			}
			c := d.v.up.compareFold(name, fn.Name)
			if c == 0 {
				return append(path, pathStep{blk, i}), true, nil
			}
			if c < 0 {
				pos = i
				break
			}
		}
		path = append(path, pathStep{blk, pos})
		e := &entries[pos]
		if !e.subnode() {
			return path, false, nil
		}
		blk, err = d.readBlock(e.Child)
		if err != nil {
			return nil, false, err
		}
		entries = blk.Entries
	}
}

// lookup finds the entry for a name (any namespace).
func (d *dirIndex) lookup(name []uint16) (*indexEntry, *fileName, error) {
	path, found, err := d.search(name)
	if err != nil {
		return nil, nil, err
	}
	if !found {
		return nil, nil, ErrNotExist
	}
	st := path[len(path)-1]
	var e *indexEntry
	if st.block == nil {
		e = &d.root.Entries[st.pos]
	} else {
		e = &st.block.Entries[st.pos]
	}
	fn, err := parseFileName(e.Key)
	return e, fn, err
}

// walk visits every entry in collation order.
func (d *dirIndex) walk(fn func(e *indexEntry, name *fileName) error) error {
	visited := 0
	limit := 1
	if d.alloc != nil {
		limit += int(d.alloc.size / int64(d.blockSize))
	}
	var rec func(entries []indexEntry, depth int) error
	rec = func(entries []indexEntry, depth int) error {
		if depth > maxIndexDepth {
			return corrupt(fmt.Sprintf("index of directory record %d", d.f.base.Num), -1, "deeper than %d levels", maxIndexDepth)
		}
		for i := range entries {
			e := &entries[i]
			if e.subnode() {
				visited++
				if visited > limit {
					return corrupt(fmt.Sprintf("index of directory record %d", d.f.base.Num), -1, "loop in the B-tree")
				}
				blk, err := d.readBlock(e.Child)
				if err != nil {
					return err
				}
				if err := rec(blk.Entries, depth+1); err != nil {
					return err
				}
			}
			if e.last() {
				return nil
			}
			name, err := parseFileName(e.Key)
			if err != nil {
				return fmt.Errorf("ntfs: directory record %d: %w", d.f.base.Num, err)
			}
			if err := fn(e, name); err != nil {
				return err
			}
		}
		return nil
	}
	return rec(d.root.Entries, 0)
}
