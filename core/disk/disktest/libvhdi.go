package disktest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/pvinject/pvinject/core/disk"
	"github.com/pvinject/pvinject/core/internal/testenv"
)

// LibvhdiReadsOurWrites creates dynamic and fixed images of size bytes with
// f, applies seeded writes, and checks that libvhdi (vhdimount, a FUSE
// reader written independently of qemu) sees the same bytes as the
// reference.
func LibvhdiReadsOurWrites(t *testing.T, f disk.Format, size int64) {
	t.Helper()
	testenv.RequireTool(t, "vhdimount", "fusermount")
	for _, sub := range []string{"dynamic", "fixed"} {
		t.Run(sub, func(t *testing.T) {
			c := Created(f, sub, size)
			img, ref := c.Setup(t, t.TempDir())
			if err := ApplyWrites(f, img, ref, Seed(4), 100); err != nil {
				t.Fatal(err)
			}
			compareVhdimount(t, img, ref)
		})
	}
}

func compareVhdimount(t *testing.T, img, ref string) {
	t.Helper()
	mnt := t.TempDir()
	if out, err := exec.Command("vhdimount", img, mnt).CombinedOutput(); err != nil {
		t.Fatalf("vhdimount %s: %v\n%s", img, err, out)
	}
	defer exec.Command("fusermount", "-u", mnt).Run() //nolint:errcheck // best effort: the temp dir goes anyway
	got, err := os.ReadFile(filepath.Join(mnt, "vhdi1"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(ref)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("libvhdi sees %s as %d bytes, the reference has %d", img, len(got), len(want))
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("libvhdi reads %s differently from the reference (first difference at %d)", img, mismatch(got, want))
	}
}

func mismatch(a, b []byte) int {
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}
