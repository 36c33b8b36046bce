package qcow2_test

import (
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/pvinject/pvinject/core/disk"
	"github.com/pvinject/pvinject/core/disk/disktest"
	"github.com/pvinject/pvinject/core/disk/qcow2"
	"github.com/pvinject/pvinject/core/disk/raw"
	"github.com/pvinject/pvinject/core/internal/testenv"
)

// benchIO runs 4 KiB reads or writes, sequential or random, on img.
func benchIO(b *testing.B, img disk.Image, write, random bool) {
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

// benchFormats compares format f on a fully allocated 64 MiB image made
// by qemu-img (scripts/fixtures/qcow2vmdk.sh) with raw on the same bytes.
func benchFormats(b *testing.B, f disk.Format, file string) {
	e := disktest.Entry{Dir: testenv.Fixture(b, "qcow2vmdk"), File: file, Format: f.Name, Expect: "bench.raw"}
	for _, mode := range []struct {
		name          string
		write, random bool
	}{{"read-seq", false, false}, {"read-rand", false, true}, {"write-seq", true, false}, {"write-rand", true, true}} {
		for _, side := range []struct {
			name string
			f    disk.Format
		}{{"raw", raw.Format}, {f.Name, f}} {
			b.Run(mode.name+"/"+side.name, func(b *testing.B) {
				img, ref := e.Path(), e.ExpectPath()
				if mode.write { // reads use the fixture itself, writes a copy
					img, ref = disktest.CopyEntry(b, e, b.TempDir())
				}
				p := img
				if side.name == "raw" {
					p = ref
				}
				o, err := disktest.OpenImage(side.f, filepath.Clean(p), disk.Options{Writable: mode.write})
				if err != nil {
					b.Fatal(err)
				}
				defer o.Close()
				benchIO(b, o, mode.write, mode.random)
			})
		}
	}
}

// BenchmarkIO: compare ns/op of each qcow2 line with the raw line above it.
func BenchmarkIO(b *testing.B) { benchFormats(b, qcow2.Format, "bench.qcow2") }
