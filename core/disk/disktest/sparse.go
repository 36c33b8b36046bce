package disktest

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/pvinject/pvinject/core/disk"
)

// Sparse creates a new image of virtualSize with f (subformat), writes 4 KiB
// at five places spread over the disk, closes it, and fails unless the host
// files together stay at or below maxBytes, both in apparent size (for
// formats that allocate inside the file) and in allocated blocks (for
// formats that rely on host holes).
func Sparse(t *testing.T, f disk.Format, subformat string, virtualSize, maxBytes int64) {
	t.Helper()
	if f.Create == nil {
		t.Fatalf("disktest: format %s has no Create", f.Name)
	}
	p := filepath.Join(t.TempDir(), "sparse."+f.Name)
	img, err := f.Create(p, virtualSize, disk.CreateOptions{Subformat: subformat})
	if err != nil {
		t.Fatalf("create %s: %v", p, err)
	}
	files := []string{p}
	if d, ok := img.(disk.Describer); ok && len(d.Info().Files) > 0 {
		files = d.Info().Files
	}
	buf := make([]byte, 4096)
	for i := range buf {
		buf[i] = byte(i)
	}
	for i := int64(0); i < 5; i++ {
		off := (virtualSize - 4096) / 4 * i / 4096 * 4096
		if _, err := img.WriteAt(buf, off); err != nil {
			t.Fatalf("write %s at %d: %v", p, off, err)
		}
	}
	if err := img.Close(); err != nil {
		t.Fatalf("close %s: %v", p, err)
	}
	apparent, allocated := Usage(t, files...)
	if f.Name == "raw" {
		apparent = allocated // a raw file's apparent size is its virtual size
	}
	if apparent > maxBytes || allocated > maxBytes {
		t.Fatalf("%s after 5 writes of 4 KiB: %d bytes apparent, %d allocated; want at most %d", p, apparent, allocated, maxBytes)
	}
}

// Usage returns the apparent size and allocated bytes of the files together.
func Usage(t testing.TB, files ...string) (apparent, allocated int64) {
	t.Helper()
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		apparent += st.Size()
		if s, ok := st.Sys().(*syscall.Stat_t); ok {
			allocated += s.Blocks * 512
		}
	}
	return apparent, allocated
}
