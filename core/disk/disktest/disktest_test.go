package disktest_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/pvinject/pvinject/core/disk"
	"github.com/pvinject/pvinject/core/disk/disktest"
	"github.com/pvinject/pvinject/core/disk/raw"
)

// dropZeros is a broken format: it silently ignores writes of all zeros,
// a classic sparse-format bug the suite must catch.
type dropZeros struct{ disk.Image }

func (d dropZeros) WriteAt(p []byte, off int64) (int, error) {
	for _, b := range p {
		if b != 0 {
			return d.Image.WriteAt(p, off)
		}
	}
	return len(p), nil
}

func TestSuiteCatchesDroppedZeroWrites(t *testing.T) {
	broken := raw.Format
	broken.Open = func(path string, b disk.Backing, opts disk.Options) (disk.Image, error) {
		img, err := raw.Open(path, b, opts)
		return dropZeros{img}, err
	}
	e := disktest.Entries(t, "raw", nil)[0]
	img, ref := disktest.CopyEntry(t, e, t.TempDir())
	err := disktest.ApplyWrites(broken, img, ref, 1, 150)
	if err == nil || !strings.Contains(err.Error(), "difference") {
		t.Fatalf("ApplyWrites through a format dropping zero writes: err = %v, want a difference", err)
	}
}

func TestWritesDeterministicAndInRange(t *testing.T) {
	const size = 64<<20 + 512
	a, b := disktest.Writes(3, size, 500), disktest.Writes(3, size, 500)
	zeros := 0
	for i := range a {
		if a[i].Off != b[i].Off || len(a[i].Data) != len(b[i].Data) {
			t.Fatalf("write %d differs between runs with the same seed", i)
		}
		if a[i].Off < 0 || a[i].Off+int64(len(a[i].Data)) > size || len(a[i].Data) == 0 {
			t.Fatalf("write %d out of range: off %d len %d", i, a[i].Off, len(a[i].Data))
		}
		if strings.Count(string(a[i].Data), "\x00") == len(a[i].Data) {
			zeros++
		}
	}
	if zeros < 50 {
		t.Fatalf("only %d of 500 writes are zeros; the suite must exercise zero writes", zeros)
	}
}

func TestResolveParent(t *testing.T) {
	child := "/imgs/vm/child.vhd"
	for ref, want := range map[string]string{
		"base.vhd":                 "/imgs/vm/base.vhd",
		`..\base.vhd`:              "/imgs/base.vhd",
		`C:\Hyper-V\VHDs\base.vhd`: "/imgs/vm/base.vhd",
		"/abs/base.qcow2":          "/abs/base.qcow2",
	} {
		if got := disktest.ResolveParent(ref, child); got != filepath.FromSlash(want) {
			t.Errorf("ResolveParent(%q) = %q, want %q", ref, got, want)
		}
	}
}
