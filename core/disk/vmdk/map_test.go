package vmdk_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pvinject/pvinject/core/disk"
	"github.com/pvinject/pvinject/core/disk/disktest"
	"github.com/pvinject/pvinject/core/disk/vmdk"
	"github.com/pvinject/pvinject/core/internal/testenv"
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

// TestMapMatchesQemu compares Map with `qemu-img map` cluster by cluster.
func TestMapMatchesQemu(t *testing.T) {
	testenv.RequireTool(t, "qemu-img")
	paths := []string{filepath.Join(testenv.Fixture(t, "qcow2vmdk"), "zg.vmdk"), filepath.Join(testenv.Fixture(t, "qcow2vmdk"), "vmfs.vmdk")}
	for _, e := range disktest.Entries(t, "vmdk", disktest.Small) {
		paths = append(paths, e.Path())
	}
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			img := disktest.Open(t, vmdk.Format, p, disk.Options{}).Image
			const unit = 4096
			want, got := qemuMap(t, "vmdk", p, img.Size(), unit), ourMap(t, img, unit)
			for i := range want {
				if want[i] != got[i] {
					t.Fatalf("block %d (offset %d): qemu says %d, Map says %d (0 unallocated, 1 data, 2 zero)", i, int64(i)*unit, want[i], got[i])
				}
			}
		})
	}
}

// TestZeroWritesStaySparse: zeros written where the disk already reads
// zeros allocate nothing.
func TestZeroWritesStaySparse(t *testing.T) {
	p := filepath.Join(t.TempDir(), "z.vmdk")
	img, err := vmdk.Create(p, 64<<20, disk.CreateOptions{})
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
	disktest.QemuCheck(t, "vmdk", p)
}

// TestZeroGrainOverParent: in a child with the zeroed-grain flag, zeros
// written over the parent's data become zeroed grains (GTE 1): nothing is
// appended, Map says "zero", and qemu reads zeros there.
func TestZeroGrainOverParent(t *testing.T) {
	testenv.RequireTool(t, "qemu-img", "qemu-io")
	var e disktest.Entry
	for _, x := range extraEntries(t, "vmdk") {
		if x.File == "zgchild.vmdk" {
			e = x
		}
	}
	img, _ := disktest.CopyEntry(t, e, t.TempDir())
	st0, err := os.Stat(img)
	if err != nil {
		t.Fatal(err)
	}
	o := disktest.Open(t, vmdk.Format, img, disk.Options{Writable: true})
	if _, err := o.WriteAt(make([]byte, 256<<10), 8<<20); err != nil {
		t.Fatal(err)
	}
	ext, err := o.Image.(disk.Mapper).Map(8<<20, 256<<10)
	if err != nil || len(ext) != 1 || !ext[0].Allocated || !ext[0].Zero {
		t.Fatalf("Map over the zeroed range = %+v, %v", ext, err)
	}
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	if st1, _ := os.Stat(img); st1.Size() != st0.Size() {
		t.Fatalf("zero writes over the parent grew the file from %d to %d", st0.Size(), st1.Size())
	}
	out, err := exec.Command("qemu-io", "-f", "vmdk", "-c", "read -P 0 8M 256k", "-c", "read -P 0x3c 9M 64k", img).CombinedOutput()
	if err != nil || strings.Contains(string(out), "failed") {
		t.Fatalf("qemu-io: %v\n%s", err, out)
	}
}
