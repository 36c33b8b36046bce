package hive

import (
	"container/list"
	"errors"
	"fmt"
	"io"
)

const (
	pageSize = 4096
	// cachePages bounds the cache at 1 MiB: detection touches a few dozen
	// keys, a few pages each, and the same bins near the root again and
	// again.
	cachePages = 256
	// uncachedRead is the size above which a cell is read straight from
	// the file rather than through the cache, so one large value cannot
	// evict everything else.
	uncachedRead = 64 << 10
)

// pageCache reads the hive bins of a hive file (which start at file
// offset 4096) in 4 KiB pages, keeping the most recently used ones.
// Offsets are relative to the first hive bin, like cell offsets.
type pageCache struct {
	ra        io.ReaderAt
	size      uint32 // hive bins size from the base block, checked against the file
	lru       *list.List
	pages     map[uint32]*list.Element
	bytesRead int64
}

type page struct {
	num  uint32
	data []byte
}

func newPageCache(ra io.ReaderAt, size uint32) *pageCache {
	return &pageCache{ra: ra, size: size, lru: list.New(), pages: make(map[uint32]*list.Element)}
}

// read returns n bytes at off. The slice may alias a cached page: callers
// must not modify it.
func (c *pageCache) read(off, n uint32) ([]byte, error) {
	end := uint64(off) + uint64(n)
	if end > uint64(c.size) {
		return nil, fmt.Errorf("%d bytes at hive bins offset 0x%x past their end 0x%x: %w", n, off, c.size, ErrCorrupt)
	}
	if n > uncachedRead {
		b := make([]byte, n)
		if err := readFullAt(c.ra, b, baseBlockSize+int64(off)); err != nil {
			return nil, err
		}
		c.bytesRead += int64(n)
		return b, nil
	}
	first, last := off/pageSize, uint32((end-1)/pageSize)
	if n == 0 {
		last = first
	}
	if first == last {
		p, err := c.page(first)
		if err != nil {
			return nil, err
		}
		at := off - first*pageSize
		return p[at : at+n], nil
	}
	out := make([]byte, 0, n)
	for num := first; num <= last; num++ {
		p, err := c.page(num)
		if err != nil {
			return nil, err
		}
		lo := uint32(0)
		if num == first {
			lo = off - first*pageSize
		}
		hi := min(uint32(pageSize), uint32(end-uint64(num)*pageSize))
		out = append(out, p[lo:hi]...)
	}
	return out, nil
}

func (c *pageCache) page(num uint32) ([]byte, error) {
	if e, ok := c.pages[num]; ok {
		c.lru.MoveToFront(e)
		return e.Value.(*page).data, nil
	}
	b := make([]byte, pageSize)
	if err := readFullAt(c.ra, b, baseBlockSize+int64(num)*pageSize); err != nil {
		return nil, err
	}
	c.bytesRead += pageSize
	if c.lru.Len() >= cachePages {
		old := c.lru.Back()
		c.lru.Remove(old)
		delete(c.pages, old.Value.(*page).num)
	}
	c.pages[num] = c.lru.PushFront(&page{num: num, data: b})
	return b, nil
}

func (c *pageCache) drop() {
	c.lru.Init()
	clear(c.pages)
}

// readFullAt fills b from off. A reader may return io.EOF together with
// the last bytes of the file; only a short read is an error.
func readFullAt(ra io.ReaderAt, b []byte, off int64) error {
	n, err := ra.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("reading %d bytes at file offset 0x%x: %w", len(b), off, err)
}
