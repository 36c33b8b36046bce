package inspect

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/pvinject/pvinject/core/disk"
	"github.com/pvinject/pvinject/core/internal/testenv"
)

// FuzzInspect feeds arbitrary bytes as a disk image through the whole
// read-only pipeline (format probe, partition table, NTFS, guest detection):
// no panic, no write, and either an error or a report with non-nil arrays.
func FuzzInspect(f *testing.F) {
	dir := testenv.Fixture(f, "partition")
	for _, name := range []string{"xp.raw", "gpt.raw", "mbr-ext.raw", "nopart.raw"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			f.Fatal(err)
		}
		// Small seeds keep the engine fast; xp.raw's NTFS boot sector is at 32 KiB.
		f.Add(b[:4<<10])
		if name == "xp.raw" {
			f.Add(b[:36<<10])
		}
	}
	f.Add([]byte{})
	tmp := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(tmp, "fuzz.img")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		r, err := Inspect(context.Background(), p, Options{Opener: newCountingOpener(t)})
		if err != nil {
			if errors.Is(err, ErrWriteAttempt) {
				t.Fatal(err)
			}
			return
		}
		if r.Partitions == nil || r.Installs == nil || r.Safety.Blockers == nil || r.Safety.Warnings == nil || r.Matrix == nil {
			t.Fatalf("nil array in report: %+v", r)
		}
	})
}

type memBacking struct {
	disk.Backing
	b []byte
}

func (m memBacking) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off >= int64(len(m.b)) {
		return 0, os.ErrInvalid
	}
	n := copy(p, m.b[off:])
	if n < len(p) {
		return n, os.ErrInvalid
	}
	return n, nil
}

// FuzzVHDXLogPending: the header probe never panics on any file.
func FuzzVHDXLogPending(f *testing.F) {
	h := make([]byte, 192<<10)
	copy(h[64<<10:], "head")
	h[(64<<10)+48] = 1
	f.Add(h)
	f.Add([]byte("vhdxfile"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = vhdxLogPending(memBacking{b: data})
	})
}
