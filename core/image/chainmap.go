package image

import (
	"errors"
	"fmt"

	"github.com/pvinject/pvinject/core/disk"
)

// Map reports which parts of [off, off+length) hold data anywhere in the
// chain: Allocated extents must be read; unallocated ones read as zeros.
// Zero extents (allocated but known zero) come back with Zero set. It fails
// unless every layer implements disk.Mapper.
func (im *Image) Map(off, length int64) ([]disk.Extent, error) {
	im.mu.Lock()
	n := len(im.layers)
	ls := make([]disk.Image, 0, n)
	for d := 0; d < n; d++ {
		l, ok := im.layers[d]
		if !ok {
			im.mu.Unlock()
			return nil, errNoMap
		}
		ls = append(ls, l.img)
	}
	im.mu.Unlock()
	if len(ls) == 0 || im.Image == nil {
		return nil, errNoMap
	}
	ls[0] = im.Image
	ms := make([]disk.Mapper, len(ls))
	for i, l := range ls {
		m, ok := l.(disk.Mapper)
		if !ok {
			return nil, errNoMap
		}
		ms[i] = m
	}
	if off < 0 || length < 0 || off > im.Size() || length > im.Size()-off {
		return nil, fmt.Errorf("image: map %s: %w: offset %d length %d", im.path, disk.ErrOutOfRange, off, length)
	}
	var out []disk.Extent
	if err := mapLayer(ms, ls, 0, off, length, &out); err != nil {
		return nil, fmt.Errorf("image: map %s: %w", im.path, err)
	}
	return out, nil
}

// mapLayer maps [off, off+length) of layer i, descending into the parent for
// unallocated runs; past the parent's end (a smaller backing file) is zeros.
func mapLayer(ms []disk.Mapper, ls []disk.Image, i int, off, length int64, out *[]disk.Extent) error {
	if length == 0 {
		return nil
	}
	if i >= len(ms) {
		*out = addExtent(*out, disk.Extent{Offset: off, Length: length})
		return nil
	}
	inside := max(0, min(length, ls[i].Size()-off))
	ext, err := ms[i].Map(off, inside)
	if err != nil {
		return err
	}
	pos := off
	for _, e := range ext {
		if e.Offset != pos || e.Length <= 0 || e.Length > off+inside-pos {
			return fmt.Errorf("layer %d returned a bad extent %+v at %d", i, e, pos)
		}
		if e.Allocated {
			*out = addExtent(*out, e)
		} else if err := mapLayer(ms, ls, i+1, e.Offset, e.Length, out); err != nil {
			return err
		}
		pos += e.Length
	}
	if pos != off+inside {
		return fmt.Errorf("layer %d map ends at %d, want %d", i, pos, off+inside)
	}
	if inside < length {
		*out = addExtent(*out, disk.Extent{Offset: off + inside, Length: length - inside})
	}
	return nil
}

func addExtent(ext []disk.Extent, e disk.Extent) []disk.Extent {
	if k := len(ext); k > 0 {
		p := &ext[k-1]
		if p.Allocated == e.Allocated && p.Zero == e.Zero && p.Offset+p.Length == e.Offset {
			p.Length += e.Length
			return ext
		}
	}
	return append(ext, e)
}

// errNoMap: some layer cannot report its allocation; copy everything.
var errNoMap = errors.New("image: a layer of the chain cannot map its allocation")
