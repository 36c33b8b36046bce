package qcow2_test

import (
	"path/filepath"
	"testing"

	"github.com/pvinject/pvinject/core/disk/disktest"
	"github.com/pvinject/pvinject/core/disk/qcow2"
	"github.com/pvinject/pvinject/core/internal/testenv"
)

// TestMapMatchesQemu compares Map with `qemu-img map` block by block.
func TestMapMatchesQemu(t *testing.T) {
	testenv.RequireTool(t, "qemu-img")
	dir := testenv.Fixture(t, "qcow2vmdk")
	disktest.MapMatchesQemu(t, qcow2.Format, "qcow2", filepath.Join(dir, "zero.qcow2"), filepath.Join(dir, "zover.qcow2"))
}

// TestZeroWritesStaySparse: zeros written where the disk already reads
// zeros allocate nothing.
func TestZeroWritesStaySparse(t *testing.T) { disktest.ZeroWritesStaySparse(t, qcow2.Format, "qcow2") }
