package hive

import (
	"fmt"
	"sort"
)

// Cell allocation for goEngine. Free cells are kept sorted by offset and
// taken first-fit, so edits reuse holes near the start of the hive before
// it grows; a freed cell is merged with free neighbours in its bin (cells
// never cross a bin, and a bin's header separates it from the previous
// bin's last cell, so touching cells are always in the same bin).

func align8(n int) int { return (n + 7) &^ 7 }

// alloc returns the offset of a new allocated cell with room for n bytes
// of data, zeroed.
func (g *goEngine) alloc(n int) (uint32, error) {
	if n < 0 || n > maxHiveSize/2 {
		return 0, fmt.Errorf("go hive engine: cell of %d bytes: %w", n, ErrTooLarge)
	}
	need := uint32(align8(n + 4))
	for i, f := range g.free {
		if f.size < need {
			continue
		}
		if rest := f.size - need; rest >= 8 {
			g.free[i] = span{f.off + need, rest}
			le.PutUint32(g.bins()[f.off+need:], rest)
		} else {
			need = f.size
			g.free = append(g.free[:i], g.free[i+1:]...)
		}
		g.take(f.off, need)
		return f.off, nil
	}
	return g.grow(need)
}

// take marks the cell at off, size bytes, allocated and zeroes its data.
func (g *goEngine) take(off, size uint32) {
	b := g.bins()
	le.PutUint32(b[off:], uint32(-int32(size)))
	clear(b[off+4 : off+size])
}

// grow appends a hive bin big enough for a cell of need bytes and
// allocates the cell at its start; the rest of the bin is a free cell.
func (g *goEngine) grow(need uint32) (uint32, error) {
	size := (need + hbinHeaderSize + binAlign - 1) &^ (binAlign - 1)
	if uint64(g.binsSize)+uint64(size) > maxHiveSize {
		return 0, fmt.Errorf("go hive engine: hive would exceed %d bytes: %w", maxHiveSize, ErrTooLarge)
	}
	start := g.binsSize
	end := baseBlockSize + int(start+size)
	if end > len(g.buf) {
		g.buf = append(g.buf, make([]byte, end-len(g.buf))...)
	}
	g.binsSize += size
	b := g.bins()
	bin := b[start : start+size]
	clear(bin)
	copy(bin, "hbin")
	le.PutUint32(bin[4:], start)
	le.PutUint32(bin[8:], size)
	off := start + hbinHeaderSize
	g.take(off, need)
	if rest := size - hbinHeaderSize - need; rest > 0 {
		le.PutUint32(b[off+need:], rest)
		g.free = append(g.free, span{off + need, rest})
	}
	return off, nil
}

// release frees the allocated cell at off, merging it with free
// neighbours.
func (g *goEngine) release(off uint32) error {
	b := g.bins()
	if _, err := g.cell(off, "cell"); err != nil {
		return err
	}
	size := uint32(-int32(le.Uint32(b[off:])))
	i := sort.Search(len(g.free), func(i int) bool { return g.free[i].off > off })
	if i > 0 && g.free[i-1].off+g.free[i-1].size > off {
		return g.corrupt(off, "cell", "freed cell overlaps a free cell")
	}
	if i < len(g.free) && g.free[i].off == off+size {
		size += g.free[i].size
		g.free = append(g.free[:i], g.free[i+1:]...)
	}
	if i > 0 && g.free[i-1].off+g.free[i-1].size == off {
		g.free[i-1].size += size
		le.PutUint32(b[g.free[i-1].off:], g.free[i-1].size)
		return nil
	}
	le.PutUint32(b[off:], size)
	g.free = append(g.free, span{})
	copy(g.free[i+1:], g.free[i:])
	g.free[i] = span{off, size}
	return nil
}

// releaseAll frees every cell in offs that is not noOffset.
func (g *goEngine) releaseAll(offs ...uint32) error {
	for _, o := range offs {
		if o == noOffset {
			continue
		}
		if err := g.release(o); err != nil {
			return err
		}
	}
	return nil
}

// newCell allocates a cell holding exactly data.
func (g *goEngine) newCell(data []byte) (uint32, error) {
	off, err := g.alloc(len(data))
	if err != nil {
		return 0, err
	}
	copy(g.bins()[off+4:], data)
	return off, nil
}

// rewrite stores data in the cell at off if it fits, else in a new cell
// (freeing the old one), and returns where it went.
func (g *goEngine) rewrite(off uint32, data []byte) (uint32, error) {
	if off != noOffset {
		c, err := g.cell(off, "cell")
		if err != nil {
			return 0, err
		}
		if len(c) >= len(data) {
			copy(c, data)
			clear(c[len(data):])
			return off, nil
		}
	}
	n, err := g.newCell(data)
	if err != nil {
		return 0, err
	}
	if off != noOffset {
		if err := g.release(off); err != nil {
			return 0, err
		}
	}
	return n, nil
}
