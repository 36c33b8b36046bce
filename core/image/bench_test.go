package image

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pvinject/pvinject/core/disk"
)

// makeSparse writes a sparse raw file of size bytes holding data bytes of
// random data in 16 MiB runs spread evenly.
func makeSparse(tb testing.TB, p string, size, data int64) {
	tb.Helper()
	f, err := os.Create(p)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		tb.Fatal(err)
	}
	const run = 16 << 20
	buf := make([]byte, run)
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range buf {
		buf[i] = byte(rng.Uint32())
	}
	n := data / run
	for i := int64(0); i < n; i++ {
		if _, err := f.WriteAt(buf, i*(size/n)); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkConvert copies a 1 GiB sparse raw image holding 128 MiB of data
// into a new raw image.
func BenchmarkConvert(b *testing.B) {
	dir := b.TempDir()
	src := filepath.Join(dir, "src.raw")
	makeSparse(b, src, 1<<30, 128<<20)
	im, err := Open(src, disk.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer im.Close()
	b.SetBytes(128 << 20)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out := filepath.Join(dir, "out.raw")
		if err := Convert(context.Background(), im, out, "raw", nil); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		os.Remove(out)
		b.StartTimer()
	}
}

// TestConvertTiming is run by scripts/bench-disk.sh with
// PVINJECT_BENCH_SRC and PVINJECT_BENCH_DST set (and optionally
// PVINJECT_BENCH_FORMAT); it prints the seconds one Convert took.
func TestConvertTiming(t *testing.T) {
	src, dst := os.Getenv("PVINJECT_BENCH_SRC"), os.Getenv("PVINJECT_BENCH_DST")
	if src == "" || dst == "" {
		t.Skip("timing helper for scripts/bench-disk.sh: set PVINJECT_BENCH_SRC and PVINJECT_BENCH_DST")
	}
	im, err := Open(src, disk.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer im.Close()
	start := time.Now()
	if err := Convert(context.Background(), im, dst, os.Getenv("PVINJECT_BENCH_FORMAT"), nil); err != nil {
		t.Fatal(err)
	}
	t.Logf("PVINJECT_CONVERT_SECONDS %.3f", time.Since(start).Seconds())
}
