package vmdk_test

import (
	"testing"

	"github.com/pvinject/pvinject/core/disk/disktest"
	"github.com/pvinject/pvinject/core/disk/vmdk"
)

func TestReadFixtures(t *testing.T) { disktest.ReadAll(t, vmdk.Format, nil) }

func TestRandomWritesFixtures(t *testing.T) {
	disktest.RandomWrites(t, vmdk.Format, disktest.FromManifest(t, "vmdk", func(e disktest.Entry) bool {
		return disktest.Small(e) && e.File != "streamOptimized.vmdk"
	})...)
}

func TestRandomWritesCreated(t *testing.T) {
	disktest.RandomWrites(t, vmdk.Format,
		disktest.Created(vmdk.Format, "", 64<<20),
		disktest.Created(vmdk.Format, "monolithicFlat", 64<<20),
		disktest.Created(vmdk.Format, "twoGbMaxExtentSparse", 64<<20))
}

func TestSparse(t *testing.T) { disktest.Sparse(t, vmdk.Format, "", 1<<30, 1<<20) }
