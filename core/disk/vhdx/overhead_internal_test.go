package vhdx

import (
	"testing"

	"github.com/pvinject/pvinject/core/disk"
	"github.com/pvinject/pvinject/core/disk/disktest"
	"github.com/pvinject/pvinject/core/disk/raw"
)

type memOpener struct{ b *memBacking }

func (o *memOpener) Open(string, bool) (disk.Backing, error) { return o.b, nil }
func (o *memOpener) Create(string) (disk.Backing, error)     { return o.b, nil }

// BenchmarkOverhead measures the layer's own cost per 4 KiB random read on
// an in-memory file, against raw on the same kind of file: unlike
// BenchmarkIO it is not drowned by page-cache and scheduler noise.
func BenchmarkOverhead(b *testing.B) {
	const size = 64 << 20
	rimg, err := raw.Format.Open("mem.raw", newMem(make([]byte, size)), disk.Options{Writable: true})
	if err != nil {
		b.Fatal(err)
	}
	vimg, err := Create("mem.vhdx", size, disk.CreateOptions{Opener: &memOpener{b: newMem(nil)}})
	if err != nil {
		b.Fatal(err)
	}
	disktest.BenchOverhead(b, size, disktest.NamedImage{Name: "raw", Img: rimg}, disktest.NamedImage{Name: "vhdx-dynamic", Img: vimg})
}
