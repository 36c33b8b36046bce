package vmdk_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pvinject/pvinject/core/disk"
	"github.com/pvinject/pvinject/core/disk/disktest"
	"github.com/pvinject/pvinject/core/disk/vmdk"
	"github.com/pvinject/pvinject/core/internal/testenv"
)

// extraEntries lists the MANIFEST of scripts/fixtures/qcow2vmdk.sh.
func extraEntries(t *testing.T, format string) []disktest.Entry {
	t.Helper()
	return disktest.EntriesIn(t, testenv.Fixture(t, "qcow2vmdk"), format)
}

func TestReadExtra(t *testing.T) { disktest.ReadEntries(t, vmdk.Format, extraEntries(t, "vmdk"), 3) }

func TestRandomWritesExtra(t *testing.T) {
	// multi.vmdk has read-only extents: see TestReadOnlyExtents
	disktest.RandomWrites(t, vmdk.Format, disktest.CopyCases(extraEntries(t, "vmdk"), "multi.vmdk")...)
}

// TestReadOnlyExtents writes to a descriptor whose first extent is RW and
// whose others are a RDONLY ZERO and a RDONLY FLAT extent.
func TestReadOnlyExtents(t *testing.T) {
	var e disktest.Entry
	for _, x := range extraEntries(t, "vmdk") {
		if x.File == "multi.vmdk" {
			e = x
		}
	}
	img, raw := disktest.CopyEntry(t, e, t.TempDir())
	o := disktest.Open(t, vmdk.Format, img, disk.Options{Writable: true})
	data := []byte("pvinject was here")
	if _, err := o.WriteAt(data, 1000); err != nil {
		t.Fatalf("write to the RW extent: %v", err)
	}
	for _, off := range []int64{1 << 20, 1<<20 + 512<<10 + 7} { // ZERO, then RDONLY FLAT
		if _, err := o.WriteAt(data, off); !errors.Is(err, disk.ErrReadOnlyFormat) {
			t.Fatalf("write at %d into a RDONLY extent: got %v, want ErrReadOnlyFormat", off, err)
		}
	}
	rf, err := os.OpenFile(raw, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	rf.WriteAt(data, 1000) //nolint:errcheck // checked by the comparison below
	rf.Close()
	r := disktest.Open(t, vmdk.Format, img, disk.Options{})
	if err := disktest.CompareWithRaw(r, raw, 9); err != nil {
		t.Fatal(err)
	}
}

// TestStreamOptimizedReadOnly: writes are refused with the remedy, the
// file is untouched and Info says so.
func TestStreamOptimizedReadOnly(t *testing.T) {
	var e disktest.Entry
	for _, x := range disktest.Entries(t, "vmdk", nil) {
		if x.File == "streamOptimized.vmdk" {
			e = x
		}
	}
	img, _ := disktest.CopyEntry(t, e, t.TempDir())
	sum := testenv.FileSHA256(t, img)
	o := disktest.Open(t, vmdk.Format, img, disk.Options{Writable: true})
	if !o.Image.(disk.Describer).Info().ReadOnly {
		t.Fatal("Info().ReadOnly is false for streamOptimized")
	}
	if _, err := o.WriteAt([]byte{1}, 0); !errors.Is(err, disk.ErrReadOnlyFormat) {
		t.Fatalf("write: got %v, want ErrReadOnlyFormat", err)
	}
	o.Close()
	if testenv.FileSHA256(t, img) != sum {
		t.Fatal("refused write modified the file")
	}
}

// TestParentCIDMismatch: a child whose parentCID does not match its
// parent's CID is refused.
func TestParentCIDMismatch(t *testing.T) {
	p := filepath.Join(testenv.Fixture(t, "qcow2vmdk"), "cidchild.vmdk")
	_, err := disktest.OpenImage(vmdk.Format, p, disk.Options{})
	var fe *disk.FormatError
	if !errors.As(err, &fe) || !strings.Contains(fe.Reason, "parentCID") {
		t.Fatalf("want a parentCID *disk.FormatError, got %v", err)
	}
}

// TestCIDChangesOnWrite: the first write gives the disk a new CID, so a
// child made before it no longer opens.
func TestCIDChangesOnWrite(t *testing.T) {
	var e disktest.Entry
	for _, x := range disktest.Entries(t, "vmdk", nil) {
		if x.File == "monolithicSparse.vmdk" {
			e = x
		}
	}
	img, _ := disktest.CopyEntry(t, e, t.TempDir())
	o := disktest.Open(t, vmdk.Format, img, disk.Options{Writable: true})
	before := o.Image.(interface{ CID() uint32 }).CID()
	if _, err := o.WriteAt([]byte{1}, 0); err != nil {
		t.Fatal(err)
	}
	o.Close()
	r := disktest.Open(t, vmdk.Format, img, disk.Options{})
	if after := r.Image.(interface{ CID() uint32 }).CID(); after == before {
		t.Fatalf("CID still %08x after a write", after)
	}
	disktest.QemuCheck(t, "vmdk", img)
}

// TestCorpus reads the VMware-made image of the shared corpus and compares
// it with qemu-img's flattening.
func TestCorpus(t *testing.T) {
	testenv.RequireTool(t, "qemu-img")
	p := testenv.CorpusFile(t, "images/monolithicSparse.vmdk")
	raw := disktest.Flatten(t, p)
	img := disktest.Open(t, vmdk.Format, p, disk.Options{})
	if err := disktest.CompareWithRaw(img, raw, 5); err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	if info := img.Image.(disk.Describer).Info(); info.Subformat != "monolithicSparse" {
		t.Fatalf("Info() = %+v", info)
	}
}

// TestCorpusWrites writes through the real image of the corpus (a copy)
// and lets qemu-img judge the result against the same writes on its own
// flattening.
func TestCorpusWrites(t *testing.T) {
	testenv.RequireTool(t, "qemu-img")
	src := testenv.CorpusFile(t, "images/monolithicSparse.vmdk")
	disktest.RandomWrites(t, vmdk.Format, disktest.CopyOf(src))
}
