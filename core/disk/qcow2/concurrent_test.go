package qcow2_test

import (
	"testing"

	"github.com/pvinject/pvinject/core/disk/disktest"
	"github.com/pvinject/pvinject/core/disk/qcow2"
)

// TestConcurrentReads runs ReadAt from several goroutines on shared caches
// (L2 tables, decompressed clusters); run with -race.
func TestConcurrentReads(t *testing.T) {
	disktest.ConcurrentReads(t, qcow2.Format, "compressed.qcow2", "clusters4k.qcow2", "top-qcow2.qcow2")
}
