package disktest

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/pvinject/pvinject/core/disk"
)

// qemuMap returns, per unit-sized block, qemu's view of the top layer:
// 0 not allocated here, 1 data, 2 reads as zeros without data.
func qemuMap(t *testing.T, format, path string, size, unit int64) []byte {
	t.Helper()
	out, err := exec.Command("qemu-img", "map", "--output=json", "-f", format, path).Output()
	if err != nil {
		t.Fatalf("qemu-img map %s: %v", path, err)
	}
	var ents []struct {
		Start, Length, Depth int64
		Present, Zero, Data  bool
	}
	if err := json.Unmarshal(out, &ents); err != nil {
		t.Fatal(err)
	}
	m := make([]byte, (size+unit-1)/unit)
	for _, e := range ents {
		v := byte(0)
		switch {
		case e.Depth != 0 || !e.Present:
		case e.Data:
			v = 1
		case e.Zero:
			v = 2
		}
		for b := e.Start / unit; b < (e.Start+e.Length+unit-1)/unit; b++ {
			m[b] = v
		}
	}
	return m
}

func ourMap(t *testing.T, img disk.Image, unit int64) []byte {
	t.Helper()
	ext, err := img.(disk.Mapper).Map(0, img.Size())
	if err != nil {
		t.Fatal(err)
	}
	m := make([]byte, (img.Size()+unit-1)/unit)
	next := int64(0)
	for _, e := range ext {
		if e.Offset != next || e.Length <= 0 {
			t.Fatalf("Map extents not contiguous at %d: %+v", next, e)
		}
		next += e.Length
		v := byte(0)
		switch {
		case e.Allocated && e.Zero:
			v = 2
		case e.Allocated:
			v = 1
		}
		for b := e.Offset / unit; b < (e.Offset+e.Length+unit-1)/unit; b++ {
			m[b] = v
		}
	}
	if next != img.Size() {
		t.Fatalf("Map covers %d bytes of %d", next, img.Size())
	}
	return m
}

// MapMatchesQemu compares f's Map with `qemu-img map -f qemuFormat` 4 KiB
// block by block, on the given images and then on every small MANIFEST
// entry of f.
func MapMatchesQemu(t *testing.T, f disk.Format, qemuFormat string, paths ...string) {
	t.Helper()
	for _, e := range Entries(t, f.Name, Small) {
		paths = append(paths, e.Path())
	}
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			img := Open(t, f, p, disk.Options{}).Image
			const unit = 4096
			want, got := qemuMap(t, qemuFormat, p, img.Size(), unit), ourMap(t, img, unit)
			for i := range want {
				if want[i] != got[i] {
					t.Fatalf("block %d (offset %d): qemu says %d, Map says %d (0 unallocated, 1 data, 2 zero)", i, int64(i)*unit, want[i], got[i])
				}
			}
		})
	}
}

// ZeroWritesStaySparse creates a 64 MiB image with f and checks that zeros
// written where the disk already reads zeros allocate nothing and leave it
// clean for `qemu-img check -f qemuFormat`.
func ZeroWritesStaySparse(t *testing.T, f disk.Format, qemuFormat string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "z."+f.Name)
	img, err := f.Create(p, 64<<20, disk.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st0, _ := os.Stat(p)
	if _, err := img.WriteAt(make([]byte, 3<<20), 1<<20+123); err != nil {
		t.Fatal(err)
	}
	st1, _ := os.Stat(p)
	if st1.Size() != st0.Size() {
		t.Fatalf("zero writes grew the file from %d to %d bytes", st0.Size(), st1.Size())
	}
	ext, err := img.(disk.Mapper).Map(0, img.Size())
	if err != nil || len(ext) != 1 || ext[0].Allocated {
		t.Fatalf("Map after zero writes = %+v, %v; want one unallocated extent", ext, err)
	}
	if err := img.Close(); err != nil {
		t.Fatal(err)
	}
	QemuCheck(t, qemuFormat, p)
}
