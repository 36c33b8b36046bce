package vhdx_test

import (
	"testing"

	"github.com/pvinject/pvinject/core/disk/disktest"
	"github.com/pvinject/pvinject/core/disk/vhdx"
)

// ReadAt must be safe for concurrent use (run with -race): four readers
// over a differencing disk, whose sector bitmaps are cached on first use.
func TestConcurrentReads(t *testing.T) {
	disktest.ConcurrentEntryReads(t, vhdx.Format, entry(t, "child.vhdx"))
}
