package vhdx_test

import (
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/pvinject/pvinject/core/disk"
	"github.com/pvinject/pvinject/core/disk/raw"
	"github.com/pvinject/pvinject/core/disk/vhdx"
)

const benchSize = 64 << 20

// benchImage creates a fully written image of benchSize with f, so that
// reads and writes hit allocated blocks (the steady state of a real disk).
func benchImage(b *testing.B, f disk.Format, sub string) disk.Image {
	b.Helper()
	p := filepath.Join(b.TempDir(), "bench."+f.Name)
	img, err := f.Create(p, benchSize, disk.CreateOptions{Subformat: sub})
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

// benchIO runs 4 KiB reads or writes, sequential or at random aligned offsets.
func benchIO(b *testing.B, img disk.Image, write, random bool) {
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

// BenchmarkIO compares vhdx (dynamic and fixed) with the same work on a raw
// file: divide the ns/op of a vhdx row by the raw row for the ratio.
func BenchmarkIO(b *testing.B) {
	imgs := []struct {
		name string
		f    disk.Format
		sub  string
	}{{"raw", raw.Format, ""}, {"vhdx-dynamic", vhdx.Format, ""}, {"vhdx-fixed", vhdx.Format, "fixed"}}
	for _, op := range []struct {
		name          string
		write, random bool
	}{{"read-seq", false, false}, {"read-rand", false, true}, {"write-seq", true, false}, {"write-rand", true, true}} {
		for _, im := range imgs {
			b.Run(op.name+"/"+im.name, func(b *testing.B) {
				benchIO(b, benchImage(b, im.f, im.sub), op.write, op.random)
			})
		}
	}
}
