package disktest

import (
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/pvinject/pvinject/core/disk"
	"github.com/pvinject/pvinject/core/disk/raw"
)

// benchModes are the four 4 KiB workloads the raw-comparison benchmarks run.
var benchModes = []struct {
	name          string
	write, random bool
}{{"read-seq", false, false}, {"read-rand", false, true}, {"write-seq", true, false}, {"write-rand", true, true}}

// BenchFixtureVsRaw compares format f on the fully allocated fixture e
// (made by qemu-img) with raw on e's expected bytes. Reads use the fixture
// itself, writes a copy.
func BenchFixtureVsRaw(b *testing.B, f disk.Format, e Entry) {
	for _, mode := range benchModes {
		for _, side := range []struct {
			name string
			f    disk.Format
		}{{"raw", raw.Format}, {f.Name, f}} {
			b.Run(mode.name+"/"+side.name, func(b *testing.B) {
				img, ref := e.Path(), e.ExpectPath()
				if mode.write { // reads use the fixture itself, writes a copy
					img, ref = CopyEntry(b, e, b.TempDir())
				}
				p := img
				if side.name == "raw" {
					p = ref
				}
				o, err := OpenImage(side.f, filepath.Clean(p), disk.Options{Writable: mode.write})
				if err != nil {
					b.Fatal(err)
				}
				defer o.Close()
				benchWarmIO(b, o, mode.write, mode.random)
			})
		}
	}
}

// benchWarmIO runs 4 KiB reads or writes, sequential or random, on img.
func benchWarmIO(b *testing.B, img disk.Image, write, random bool) {
	buf := make([]byte, 4096)
	for i := range buf {
		buf[i] = byte(i%253 + 1)
	}
	blocks := img.Size() / 4096
	rng := rand.New(rand.NewPCG(1, 2))
	// Warm the page cache and the metadata caches alike for both sides.
	warm := make([]byte, 1<<20)
	for off := int64(0); off+int64(len(warm)) <= img.Size(); off += int64(len(warm)) {
		if _, err := img.ReadAt(warm, off); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(4096)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		blk := int64(i) % blocks
		if random {
			blk = rng.Int64N(blocks)
		}
		var err error
		if write {
			_, err = img.WriteAt(buf, blk*4096)
		} else {
			_, err = img.ReadAt(buf, blk*4096)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchImage is one row of BenchCreatedVsRaw: an image made by F.Create
// with Subformat Sub, reported under Name.
type BenchImage struct {
	Name string
	F    disk.Format
	Sub  string
}

// BenchCreatedVsRaw runs the four 4 KiB workloads on a fully written image
// of size bytes for each of imgs (list raw first, so each format's ns/op
// can be divided by the raw row above it).
func BenchCreatedVsRaw(b *testing.B, size int64, imgs ...BenchImage) {
	for _, op := range benchModes {
		for _, im := range imgs {
			b.Run(op.name+"/"+im.Name, func(b *testing.B) {
				benchLoopIO(b, benchFilled(b, im.F, im.Sub, size), op.write, op.random)
			})
		}
	}
}

// benchFilled creates a fully written image of size with f, so that reads
// and writes hit allocated blocks (the steady state of a real disk).
func benchFilled(b *testing.B, f disk.Format, sub string, size int64) disk.Image {
	b.Helper()
	p := filepath.Join(b.TempDir(), "bench."+f.Name)
	img, err := f.Create(p, size, disk.CreateOptions{Subformat: sub})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { img.Close() })
	buf := make([]byte, 1<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range buf {
		buf[i] = byte(rng.Uint32())
	}
	for off := int64(0); off < img.Size(); off += int64(len(buf)) {
		n := min(int64(len(buf)), img.Size()-off)
		if _, err := img.WriteAt(buf[:n], off); err != nil {
			b.Fatal(err)
		}
	}
	if err := img.Flush(); err != nil {
		b.Fatal(err)
	}
	return img
}

// benchLoopIO runs 4 KiB reads or writes, sequential or at random aligned
// offsets.
func benchLoopIO(b *testing.B, img disk.Image, write, random bool) {
	buf := make([]byte, 4096)
	blocks := img.Size() / 4096
	offs := make([]int64, 4096)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range offs {
		if random {
			offs[i] = rng.Int64N(blocks) * 4096
		} else {
			offs[i] = int64(i) % blocks * 4096
		}
	}
	b.SetBytes(4096)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		off := offs[i%len(offs)]
		if !random {
			off = int64(i) % blocks * 4096
		}
		var err error
		if write {
			_, err = img.WriteAt(buf, off)
		} else {
			_, err = img.ReadAt(buf, off)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}
