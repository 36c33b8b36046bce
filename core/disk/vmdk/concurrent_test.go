package vmdk_test

import (
	"testing"

	"github.com/pvinject/pvinject/core/disk/disktest"
	"github.com/pvinject/pvinject/core/disk/vmdk"
)

// TestConcurrentReads runs ReadAt from several goroutines on shared caches
// (grain tables, decompressed grains); run with -race.
func TestConcurrentReads(t *testing.T) {
	disktest.ConcurrentReads(t, vmdk.Format, "streamOptimized.vmdk", "twoGbMaxExtentSparse.vmdk", "overlay-vmdk.vmdk")
}
