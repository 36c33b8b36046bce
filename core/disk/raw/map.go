package raw

import (
	"fmt"

	"github.com/pvinject/pvinject/core/disk"
)

// fder is implemented by backings that sit directly on a host file
// descriptor (os.File, and the journal's pass-through wrapper). The
// descriptor is only used for lseek, never for I/O, so it cannot bypass a
// journal.
type fder interface{ Fd() uintptr }

// Map reports data and holes of the host file in [off, off+length).
// Holes are reported as unallocated (they read as zeros; raw has no parent).
// When the host cannot tell, the whole range is reported as allocated.
func (m *Image) Map(off, length int64) ([]disk.Extent, error) {
	if off < 0 || length < 0 || off > m.size || length > m.size-off {
		return nil, fmt.Errorf("raw: map %s: %w: offset %d length %d size %d", m.path, disk.ErrOutOfRange, off, length, m.size)
	}
	if length == 0 {
		return nil, nil
	}
	if f, ok := m.b.(fder); ok {
		if ext, err := seekMap(f.Fd(), off, length); err == nil {
			return ext, nil
		}
	}
	return []disk.Extent{{Offset: off, Length: length, Allocated: true}}, nil
}

// appendExtent adds [off, off+n) merging with the previous extent of the same kind.
func appendExtent(ext []disk.Extent, off, n int64, alloc bool) []disk.Extent {
	if n <= 0 {
		return ext
	}
	if k := len(ext); k > 0 && ext[k-1].Allocated == alloc && ext[k-1].Offset+ext[k-1].Length == off {
		ext[k-1].Length += n
		return ext
	}
	return append(ext, disk.Extent{Offset: off, Length: n, Allocated: alloc})
}
