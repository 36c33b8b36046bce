package partition

import (
	"fmt"
	"io"

	"github.com/pvinject/pvinject/core/disk"
)

// PartView is a bounded window of a disk over one partition: offsets are
// relative to the partition start, and I/O past its end is refused
// (disk.ErrOutOfRange) rather than spilling into the next partition.
// It holds no offset state and is safe for concurrent ReadAt.
type PartView struct {
	r     io.ReaderAt
	w     io.WriterAt // nil for a read-only view
	start int64
	size  int64
}

// View returns the partition p of img as a bounded view. Writes go to img
// (and fail there when img is read-only).
func View(img disk.Image, p Partition) (*PartView, error) {
	if p.Start < 0 || p.Size < 0 || p.Start > img.Size() || p.Size > img.Size()-p.Start {
		return nil, fmt.Errorf("partition %d (start %d, size %d) extends past the end of the %d-byte disk", p.Index, p.Start, p.Size, img.Size())
	}
	return &PartView{r: img, w: img, start: p.Start, size: p.Size}, nil
}

// NewView makes a read-only view of [start, start+size) of r.
func NewView(r io.ReaderAt, start, size int64) *PartView {
	return &PartView{r: r, start: start, size: size}
}

// Size is the partition size in bytes.
func (v *PartView) Size() int64 { return v.size }

// Start is the partition's offset on the disk.
func (v *PartView) Start() int64 { return v.start }

// ReadAt reads partition bytes.
func (v *PartView) ReadAt(p []byte, off int64) (int, error) {
	if err := disk.CheckRange(off, len(p), v.size); err != nil {
		return 0, fmt.Errorf("partition view: read: %w", err)
	}
	return v.r.ReadAt(p, v.start+off)
}

// WriteAt writes partition bytes.
func (v *PartView) WriteAt(p []byte, off int64) (int, error) {
	if v.w == nil {
		return 0, fmt.Errorf("partition view: write: %w", disk.ErrReadOnly)
	}
	if err := disk.CheckRange(off, len(p), v.size); err != nil {
		return 0, fmt.Errorf("partition view: write: %w", err)
	}
	return v.w.WriteAt(p, v.start+off)
}
