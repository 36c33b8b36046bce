package ntfs

import (
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pvinject/pvinject/core/internal/testenv"
)

// countingDev counts the bytes a volume reads and writes.
type countingDev struct {
	f           *os.File
	read, wrote atomic.Int64
}

func (c *countingDev) ReadAt(b []byte, off int64) (int, error) {
	n, err := c.f.ReadAt(b, off)
	c.read.Add(int64(n))
	return n, err
}

func (c *countingDev) WriteAt(b []byte, off int64) (int, error) {
	n, err := c.f.WriteAt(b, off)
	c.wrote.Add(int64(n))
	return n, err
}

// benchOp runs op on a fresh copy of the c4k fixture per iteration and
// reports device bytes read and written per operation, excluding Open.
func benchOp(b *testing.B, dataBytes int64, op func(b *testing.B, v *Volume)) {
	src := copyFixture(b, "c4k")
	img := src + ".work"
	var rd, wr int64
	var elapsed time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		testenv.CopyFile(b, src, img)
		f, err := os.OpenFile(img, os.O_RDWR, 0)
		if err != nil {
			b.Fatal(err)
		}
		st, _ := f.Stat()
		dev := &countingDev{f: f}
		v, err := Open(dev, st.Size(), Options{Writable: true})
		if err != nil {
			b.Fatal(err)
		}
		r0, w0 := dev.read.Load(), dev.wrote.Load()
		b.StartTimer()
		start := time.Now()
		op(b, v)
		if err := v.Close(); err != nil {
			b.Fatal(err)
		}
		elapsed += time.Since(start)
		b.StopTimer()
		rd += dev.read.Load() - r0
		wr += dev.wrote.Load() - w0
		f.Close()
	}
	b.ReportMetric(float64(rd)/float64(b.N), "read-B/op")
	b.ReportMetric(float64(wr)/float64(b.N), "written-B/op")
	b.ReportMetric(float64(wr)/float64(b.N)/float64(dataBytes), "write-amplification")
	b.ReportMetric(float64(rd+wr)/float64(b.N)/float64(dataBytes), "io/data")
	b.Logf("%d iterations, mean %v per op", b.N, elapsed/time.Duration(b.N))
}

// BenchmarkCreate100In5000 creates 100 files of 64 KiB in a directory of
// 5000 entries.
func BenchmarkCreate100In5000(b *testing.B) {
	payload := fill(7, 64<<10)
	benchOp(b, 100*int64(len(payload)), func(b *testing.B, v *Volume) {
		for i := 0; i < 100; i++ {
			if err := v.WriteFile(fmt.Sprintf("d5000/bench_%03d.bin", i), payload); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkReplace40To41MiB replaces a 40 MiB file with a 41 MiB one.
func BenchmarkReplace40To41MiB(b *testing.B) {
	payload := fill(8, 41<<20)
	benchOp(b, int64(len(payload)), func(b *testing.B, v *Volume) {
		if err := v.WriteFile("forty.bin", payload); err != nil {
			b.Fatal(err)
		}
	})
}
