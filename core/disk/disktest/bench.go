package disktest

import (
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/pvinject/pvinject/core/disk"
)

// BenchSize is the virtual size of the image Bench works on.
const BenchSize = 256 << 20

// Bench runs the I/O benchmarks every format reports as a ratio to raw:
// sequential and random 4 KiB reads of a fully written image, and sequential
// and random 4 KiB writes (the first pass allocates, later ones overwrite).
// Run it from a format's _test.go:
//
//	func BenchmarkIO(b *testing.B) { disktest.Bench(b, qcow2.Format, "") }
//
// and compare with `go test -bench IO ./core/disk/raw`.
func Bench(b *testing.B, f disk.Format, subformat string) {
	if f.Create == nil {
		b.Skipf("format %s cannot be created here, so it has no write benchmark", f.Name)
	}
	open := func(b *testing.B, fill bool) disk.Image {
		b.Helper()
		p := filepath.Join(b.TempDir(), "bench."+f.Name)
		img, err := f.Create(p, BenchSize, disk.CreateOptions{Subformat: subformat})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { img.Close() })
		if fill {
			buf := make([]byte, 1<<20)
			rng := rand.New(rand.NewPCG(1, 2))
			for i := range buf {
				buf[i] = byte(rng.Uint32() | 1)
			}
			for off := int64(0); off < BenchSize; off += int64(len(buf)) {
				if _, err := img.WriteAt(buf, off); err != nil {
					b.Fatal(err)
				}
			}
			if err := img.Flush(); err != nil {
				b.Fatal(err)
			}
		}
		return img
	}
	const bs = 4096
	const blocks = BenchSize / bs
	run := func(name string, fill, write, random bool) {
		b.Run(name, func(b *testing.B) {
			img := open(b, fill)
			buf := make([]byte, bs)
			for i := range buf {
				buf[i] = byte(i | 1)
			}
			rng := rand.New(rand.NewPCG(3, 4))
			b.SetBytes(bs)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				blk := int64(i % blocks)
				if random {
					blk = rng.Int64N(blocks)
				}
				var err error
				if write {
					_, err = img.WriteAt(buf, blk*bs)
				} else {
					_, err = img.ReadAt(buf, blk*bs)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if write {
				if err := img.Flush(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	run("SeqRead4K", true, false, false)
	run("RandRead4K", true, false, true)
	run("SeqWrite4K", false, true, false)
	run("RandWrite4K", false, true, true)
}
