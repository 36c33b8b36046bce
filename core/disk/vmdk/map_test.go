package vmdk_test

import (
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

// TestMapMatchesQemu compares Map with `qemu-img map` block by block.
func TestMapMatchesQemu(t *testing.T) {
	testenv.RequireTool(t, "qemu-img")
	dir := testenv.Fixture(t, "qcow2vmdk")
	disktest.MapMatchesQemu(t, vmdk.Format, "vmdk", filepath.Join(dir, "zg.vmdk"), filepath.Join(dir, "vmfs.vmdk"))
}

// TestZeroWritesStaySparse: zeros written where the disk already reads
// zeros allocate nothing.
func TestZeroWritesStaySparse(t *testing.T) { disktest.ZeroWritesStaySparse(t, vmdk.Format, "vmdk") }

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
