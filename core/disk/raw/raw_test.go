package raw_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/pvinject/pvinject/core/disk"
	"github.com/pvinject/pvinject/core/disk/disktest"
	"github.com/pvinject/pvinject/core/disk/raw"
)

func TestReadAll(t *testing.T) { disktest.ReadAll(t, raw.Format, nil) }

func TestRandomWrites(t *testing.T) {
	cases := disktest.FromManifest(t, "raw", nil)
	cases = append(cases, disktest.Created(raw.Format, "", 48<<20+512))
	disktest.RandomWrites(t, raw.Format, cases...)
}

func TestSparse(t *testing.T) { disktest.Sparse(t, raw.Format, "", 1<<30, 1<<20) }

func TestMapSkipsHoles(t *testing.T) {
	p := filepath.Join(t.TempDir(), "m.raw")
	img, err := raw.Create(p, 64<<20, disk.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	data := make([]byte, 1<<20)
	data[0] = 1
	if _, err := img.WriteAt(data, 8<<20); err != nil {
		t.Fatal(err)
	}
	ext, err := img.(disk.Mapper).Map(0, 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	var alloc, total int64
	for i, e := range ext {
		if i > 0 && ext[i-1].Offset+ext[i-1].Length != e.Offset {
			t.Fatalf("gap or overlap in map: %+v", ext)
		}
		total += e.Length
		if e.Allocated {
			alloc += e.Length
			if e.Offset > 8<<20 || e.Offset+e.Length < 9<<20 {
				t.Fatalf("allocated extent %+v does not cover the write at 8 MiB", e)
			}
		}
	}
	if total != 64<<20 {
		t.Fatalf("map covers %d bytes, want %d: %+v", total, 64<<20, ext)
	}
	// Filesystems allocate in blocks of up to 64 KiB around the data.
	if alloc < 1<<20 || alloc > 2<<20 {
		t.Fatalf("allocated %d bytes, want about 1 MiB: %+v", alloc, ext)
	}
	if _, err := img.(disk.Mapper).Map(60<<20, 8<<20); !errors.Is(err, disk.ErrOutOfRange) {
		t.Fatalf("map past the end: err = %v, want ErrOutOfRange", err)
	}
}

func TestReadOnlyAndRange(t *testing.T) {
	p := filepath.Join(t.TempDir(), "r.raw")
	if err := os.WriteFile(p, make([]byte, 4096), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := disk.OSOpener{}.Open(p, false)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	img, err := raw.Open(p, b, disk.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := img.WriteAt([]byte{1}, 0); !errors.Is(err, disk.ErrReadOnly) {
		t.Fatalf("write to read-only image: %v, want ErrReadOnly", err)
	}
	buf := make([]byte, 2)
	if _, err := img.ReadAt(buf, 4095); !errors.Is(err, disk.ErrOutOfRange) {
		t.Fatalf("read across the end: %v, want ErrOutOfRange", err)
	}
	if _, err := img.ReadAt(buf[:1], 4095); err != nil {
		t.Fatalf("read of the last byte: %v", err)
	}
}

// BenchmarkIO is the baseline every format's disktest.Bench is compared to.
func BenchmarkIO(b *testing.B) { disktest.Bench(b, raw.Format, "") }
