package disktest

import (
	"math/rand/v2"
	"testing"

	"github.com/pvinject/pvinject/core/disk"
)

// NamedImage is one row of BenchOverhead.
type NamedImage struct {
	Name string
	Img  disk.Image
}

// BenchOverhead fills each image's first size bytes, then measures 4 KiB
// random reads on it. Run on in-memory files (raw first), it shows a
// layer's own cost per read: unlike BenchmarkIO it is not drowned by
// page-cache and scheduler noise.
func BenchOverhead(b *testing.B, size int64, imgs ...NamedImage) {
	fill := func(img disk.Image) {
		buf := make([]byte, 1<<20)
		for i := range buf {
			buf[i] = byte(i * 7)
		}
		for off := int64(0); off < size; off += int64(len(buf)) {
			img.WriteAt(buf[:min(int64(len(buf)), size-off)], off) //nolint:errcheck // a failed fill shows as a read error below
		}
	}
	for _, c := range imgs {
		fill(c.Img)
	}
	for _, c := range imgs {
		b.Run(c.Name, func(b *testing.B) {
			buf := make([]byte, 4096)
			rng := rand.New(rand.NewPCG(1, 1))
			b.SetBytes(4096)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Img.ReadAt(buf, rng.Int64N(size/4096)*4096); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
