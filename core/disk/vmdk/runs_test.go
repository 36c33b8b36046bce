package vmdk_test

import (
	"testing"

	"github.com/pvinject/pvinject/core/disk/disktest"
	"github.com/pvinject/pvinject/core/disk/vmdk"
)

// TestWholeRunWrites exercises the batched path for writes of many whole
// grains across a grain table boundary (32 << 20 bytes): see
// disktest.WholeRunWrites.
func TestWholeRunWrites(t *testing.T) {
	disktest.WholeRunWrites(t, vmdk.Format, "vmdk", 32<<20, "grain")
}
