package vhd_test

import (
	"bytes"
	"fmt"
	"os"
	"testing"

	"github.com/pvinject/pvinject/core/disk"
	"github.com/pvinject/pvinject/core/disk/disktest"
	"github.com/pvinject/pvinject/core/internal/testenv"
)

// fixtureDir builds scripts/fixtures/vhd.sh once.
func fixtureDir(t testing.TB) string {
	t.Helper()
	testenv.RequireTool(t, "qemu-img", "python3")
	return testenv.Fixture(t, "vhd")
}

// entries reads the vpc lines of the vhd fixture's MANIFEST.
func entries(t testing.TB) []disktest.Entry {
	t.Helper()
	return disktest.EntriesIn(t, fixtureDir(t), "vpc")
}

func entry(t testing.TB, name string) disktest.Entry {
	t.Helper()
	return disktest.Named(t, entries(t), name)
}

// compareLonger checks img against a raw file that may be shorter than the
// virtual disk (disk.sh's 64 MiB source against qemu's CHS-rounded VHD):
// the raw bytes first, then zeros.
func compareLonger(img disk.Image, rawPath string) error {
	want, err := os.ReadFile(rawPath)
	if err != nil {
		return err
	}
	if img.Size() < int64(len(want)) {
		return fmt.Errorf("virtual size %d smaller than %s (%d)", img.Size(), rawPath, len(want))
	}
	got := make([]byte, img.Size())
	if _, err := img.ReadAt(got, 0); err != nil {
		return err
	}
	if i := mismatch(got[:len(want)], want); i >= 0 {
		return fmt.Errorf("first difference at %d", i)
	}
	if bytes.Count(got[len(want):], []byte{0}) != len(got)-len(want) {
		return fmt.Errorf("non-zero bytes past the end of %s", rawPath)
	}
	return nil
}

func mismatch(a, b []byte) int {
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}
