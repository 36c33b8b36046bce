package qcow2_test

import (
	"testing"

	"github.com/pvinject/pvinject/core/disk/disktest"
	"github.com/pvinject/pvinject/core/disk/qcow2"
)

// TestWholeRunWrites exercises the batched path for writes of many whole
// clusters across a cluster table boundary (512 << 20 bytes): see
// disktest.WholeRunWrites.
func TestWholeRunWrites(t *testing.T) {
	disktest.WholeRunWrites(t, qcow2.Format, "qcow2", 512<<20, "cluster")
}
