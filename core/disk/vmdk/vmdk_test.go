package vmdk_test

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pvinject/pvinject/core/disk"

	"github.com/pvinject/pvinject/core/disk/disktest"
	"github.com/pvinject/pvinject/core/disk/vmdk"
)

func TestReadFixtures(t *testing.T) { disktest.ReadAll(t, vmdk.Format, disktest.Small) }

func TestRandomWritesFixtures(t *testing.T) {
	disktest.RandomWrites(t, vmdk.Format, disktest.FromManifest(t, "vmdk", func(e disktest.Entry) bool {
		return disktest.Small(e) && e.File != "streamOptimized.vmdk"
	})...)
}

func TestRandomWritesCreated(t *testing.T) {
	disktest.RandomWrites(t, vmdk.Format,
		disktest.Created(vmdk.Format, "", 64<<20),
		disktest.Created(vmdk.Format, "monolithicFlat", 64<<20),
		disktest.Created(vmdk.Format, "twoGbMaxExtentSparse", 64<<20),
		disktest.Created(vmdk.Format, "twoGbMaxExtentFlat", 64<<20))
}

// TestCreateSplit makes a 5 GiB split disk: three extents, the last one
// partial, which qemu-img must accept as it does its own.
func TestCreateSplit(t *testing.T) {
	for _, sub := range []string{"twoGbMaxExtentSparse", "twoGbMaxExtentFlat"} {
		p := filepath.Join(t.TempDir(), "split.vmdk")
		img, err := vmdk.Create(p, 5<<30, disk.CreateOptions{Subformat: sub})
		if err != nil {
			t.Fatal(err)
		}
		if n := len(img.(disk.Describer).Info().Files); n != 4 {
			t.Fatalf("%s: %d files, want the descriptor and 3 extents", sub, n)
		}
		if _, err := img.WriteAt(bytes.Repeat([]byte{0x5a}, 4096), 5<<30-4096); err != nil {
			t.Fatal(err)
		}
		if err := img.Close(); err != nil {
			t.Fatal(err)
		}
		disktest.QemuCheck(t, "vmdk", p)
		out, err := exec.Command("qemu-io", "-f", "vmdk", "-c", "read -P 0 2G 1M", "-c", "read -P 0x5a 5368705024 4096", p).CombinedOutput()
		if err != nil || strings.Contains(string(out), "failed") || strings.Count(string(out), "read ") != 2 {
			t.Fatalf("qemu-io read of %s: %v\n%s", p, err, out)
		}
	}
}

// TestProbe: Probe recognises every VMDK fixture and no other.
func TestProbe(t *testing.T) { disktest.ProbeFixtures(t, vmdk.Format) }

func TestSparse(t *testing.T) { disktest.Sparse(t, vmdk.Format, "", 1<<30, 1<<20) }
