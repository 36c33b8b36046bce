package vhd

import (
	"math/rand/v2"
	"testing"

	"github.com/pvinject/pvinject/core/disk"
	"github.com/pvinject/pvinject/core/disk/raw"
)

type memOpener struct{ b *memBacking }

func (o *memOpener) Open(string, bool) (disk.Backing, error) { return o.b, nil }
func (o *memOpener) Create(string) (disk.Backing, error)     { return o.b, nil }

// BenchmarkOverhead measures the layer's own cost per 4 KiB random read on
// an in-memory file, against raw on the same kind of file: unlike
// BenchmarkIO it is not drowned by page-cache and scheduler noise.
func BenchmarkOverhead(b *testing.B) {
	const size = 64125248
	fill := func(img disk.Image) {
		buf := make([]byte, 1<<20)
		for i := range buf {
			buf[i] = byte(i * 7)
		}
		for off := int64(0); off < size; off += int64(len(buf)) {
			img.WriteAt(buf[:min(int64(len(buf)), size-off)], off)
		}
	}
	rimg, err := raw.Format.Open("mem.raw", &memBacking{b: make([]byte, size)}, disk.Options{Writable: true})
	if err != nil {
		b.Fatal(err)
	}
	fill(rimg)
	vimg, err := Create("mem.vhd", size, disk.CreateOptions{Opener: &memOpener{b: &memBacking{}}})
	if err != nil {
		b.Fatal(err)
	}
	fill(vimg)
	for _, c := range []struct {
		name string
		img  disk.Image
	}{{"raw", rimg}, {"vpc-dynamic", vimg}} {
		b.Run(c.name, func(b *testing.B) {
			buf := make([]byte, 4096)
			rng := rand.New(rand.NewPCG(1, 1))
			b.SetBytes(4096)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.img.ReadAt(buf, rng.Int64N(size/4096)*4096); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
