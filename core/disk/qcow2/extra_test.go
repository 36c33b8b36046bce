package qcow2_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/pvinject/pvinject/core/disk"
	"github.com/pvinject/pvinject/core/disk/disktest"
	"github.com/pvinject/pvinject/core/disk/qcow2"
	"github.com/pvinject/pvinject/core/internal/testenv"
)

// extraEntries lists the MANIFEST of scripts/fixtures/qcow2vmdk.sh.
func extraEntries(t *testing.T, format string) []disktest.Entry {
	t.Helper()
	return disktest.EntriesIn(t, testenv.Fixture(t, "qcow2vmdk"), format)
}

func TestReadExtra(t *testing.T) { disktest.ReadEntries(t, qcow2.Format, extraEntries(t, "qcow2"), 3) }

func TestRandomWritesExtra(t *testing.T) {
	// snap.qcow2 writes are refused, see TestRefusals
	disktest.RandomWrites(t, qcow2.Format, disktest.CopyCases(extraEntries(t, "qcow2"), "snap.qcow2")...)
}

// TestRefTableGrowth fills a 512-byte-cluster image, whose refcount table
// (one cluster, 64 entries) covers only 8 MiB of file, so that writes must
// move the table, and checks qemu agrees with the result.
func TestRefTableGrowth(t *testing.T) {
	testenv.RequireTool(t, "qemu-img")
	var e disktest.Entry
	for _, x := range extraEntries(t, "qcow2") {
		if x.File == "c512.qcow2" {
			e = x
		}
	}
	dir := t.TempDir()
	img, raw := disktest.CopyEntry(t, e, dir)
	before := refTableClusters(t, img)
	o := disktest.Open(t, qcow2.Format, img, disk.Options{Writable: true})
	rf, err := os.OpenFile(raw, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rf.Close()
	buf := make([]byte, 1<<20)
	for i := int64(0); i < 20; i++ {
		for j := range buf {
			buf[j] = byte(i*7 + int64(j)%251 + 1)
		}
		off := i * 2 << 20
		if _, err := o.WriteAt(buf, off); err != nil {
			t.Fatalf("write at %d: %v", off, err)
		}
		if _, err := rf.WriteAt(buf, off); err != nil {
			t.Fatal(err)
		}
	}
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	if after := refTableClusters(t, img); after <= before {
		t.Fatalf("refcount table did not grow: %d clusters before, %d after", before, after)
	}
	disktest.QemuCheck(t, "qcow2", img)
	disktest.QemuIdentical(t, "qcow2", img, raw)
}

func refTableClusters(t *testing.T, path string) uint32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil || len(b) < 60 {
		t.Fatalf("read %s: %v", path, err)
	}
	return uint32(b[56])<<24 | uint32(b[57])<<16 | uint32(b[58])<<8 | uint32(b[59])
}

// TestRefusals opens images that must be refused (entirely, or for
// writing) and checks the kind of error and that nothing was written.
func TestRefusals(t *testing.T) {
	dir := testenv.Fixture(t, "qcow2vmdk")
	var fe *disk.FormatError
	isFormat := func(err error) bool { return errors.As(err, &fe) }
	readOnlyFormat := func(err error) bool { return errors.Is(err, disk.ErrReadOnlyFormat) }
	anyErr := func(err error) bool { return err != nil }
	for _, c := range []struct {
		file     string
		writable bool
		want     func(error) bool
		readable bool // opening read-only must succeed
	}{
		{"snap.qcow2", true, readOnlyFormat, true},
		{"bitmap.qcow2", true, readOnlyFormat, true},
		{"dirty.qcow2", true, isFormat, true},
		{"corrupt.qcow2", true, isFormat, true},
		{"unknownfeat.qcow2", false, isFormat, false},
		{"extl2.qcow2", false, isFormat, false},
		{"zstd.qcow2", false, isFormat, false},
		{"datafile.qcow2", false, isFormat, false},
		{"luks.qcow2", false, isFormat, false},
		{"aes.qcow2", false, isFormat, false},
		{"orphan.qcow2", false, anyErr, false},
		{"loop.qcow2", false, anyErr, false},
	} {
		t.Run(c.file, func(t *testing.T) {
			p := filepath.Join(dir, c.file)
			sum := testenv.FileSHA256(t, p)
			o, err := disktest.OpenImage(qcow2.Format, p, disk.Options{Writable: c.writable})
			if err == nil {
				o.Close()
				t.Fatalf("%s opened (writable=%v), want an error", c.file, c.writable)
			}
			if !c.want(err) {
				t.Fatalf("%s: wrong kind of error: %v", c.file, err)
			}
			t.Logf("%s: %v", c.file, err)
			if testenv.FileSHA256(t, p) != sum {
				t.Fatalf("%s was modified by a refused open", c.file)
			}
			if c.readable {
				o, err := disktest.OpenImage(qcow2.Format, p, disk.Options{})
				if err != nil {
					t.Fatalf("%s read-only: %v", c.file, err)
				}
				buf := make([]byte, 65536)
				if _, err := o.ReadAt(buf, 0); err != nil {
					t.Fatalf("%s read: %v", c.file, err)
				}
				o.Close()
			}
		})
	}
}

// TestCorpus reads the real images of the shared corpus and compares them
// with qemu-img's flattening.
func TestCorpus(t *testing.T) {
	testenv.RequireTool(t, "qemu-img")
	p := testenv.CorpusFile(t, "images/dfvfs_windows_volume.qcow2")
	raw := disktest.Flatten(t, p)
	img := disktest.Open(t, qcow2.Format, p, disk.Options{})
	if err := disktest.CompareWithRaw(img, raw, 5); err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	info := img.Image.(disk.Describer).Info()
	if info.Format != "qcow2" || info.VirtualSize != img.Size() {
		t.Fatalf("Info() = %+v", info)
	}
}

// TestCorpusWrites writes through the real image of the corpus (a copy)
// and lets qemu-img judge the result against the same writes on its own
// flattening.
func TestCorpusWrites(t *testing.T) {
	testenv.RequireTool(t, "qemu-img")
	src := testenv.CorpusFile(t, "images/dfvfs_windows_volume.qcow2")
	disktest.RandomWrites(t, qcow2.Format, disktest.CopyOf(src))
}
