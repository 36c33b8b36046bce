package journal

import (
	"github.com/pvinject/pvinject/core/disk"
)

// Guest wraps the virtual disk the run writes through this Opener's files,
// so that the seal also records which bytes of the guest's disk the run
// wrote. The journal itself works on host files only; a rollback refused
// because host bytes changed uses these ranges to find, by reading, which
// guest bytes those host bytes hold (core/inject names the files there).
func (o *Opener) Guest(img disk.Image) disk.Image { return &guestImage{Image: img, o: o} }

type guestImage struct {
	disk.Image
	o *Opener
}

func (g *guestImage) WriteAt(p []byte, off int64) (int, error) {
	n, err := g.Image.WriteAt(p, off)
	if n > 0 {
		g.o.guestMu.Lock()
		g.o.guest.add(off, off+int64(n))
		g.o.guestMu.Unlock()
	}
	return n, err
}

// guestRanges returns the recorded ranges as offset and length pairs.
func (o *Opener) guestRanges() [][2]int64 {
	o.guestMu.Lock()
	defer o.guestMu.Unlock()
	out := make([][2]int64, len(o.guest))
	for i, r := range o.guest {
		out[i] = [2]int64{r[0], r[1] - r[0]}
	}
	return out
}
