package vhd_test

import (
	"testing"

	"github.com/pvinject/pvinject/core/disk/disktest"
	"github.com/pvinject/pvinject/core/disk/vhd"
)

func TestCrashConsistency(t *testing.T) {
	// qemu-img cannot check vpc files (nor read differencing ones).
	disktest.CrashConsistency(t, vhd.Format, []disktest.Entry{entry(t, "dyn.vhd"), entry(t, "child.vhd")}, nil)
}
