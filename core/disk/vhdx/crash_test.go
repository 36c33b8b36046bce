package vhdx_test

import (
	"testing"

	"github.com/pvinject/pvinject/core/disk/disktest"
	"github.com/pvinject/pvinject/core/disk/vhdx"
)

func TestCrashConsistency(t *testing.T) {
	disktest.CrashConsistency(t, vhdx.Format, []disktest.Entry{entry(t, "base.vhdx"), entry(t, "child.vhdx")}, func(t *testing.T, e disktest.Entry, p string) {
		if e.File == "base.vhdx" { // qemu cannot open differencing VHDX files
			disktest.QemuCheck(t, "vhdx", p)
		}
	})
}
