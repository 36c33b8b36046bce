package vhd_test

import (
	"testing"

	"github.com/pvinject/pvinject/core/disk/disktest"
	"github.com/pvinject/pvinject/core/disk/vhd"
)

// libvhdi (vhdimount, a FUSE reader written independently of qemu) must see
// the same bytes as the reference after our writes to new images.
func TestLibvhdiReadsOurWrites(t *testing.T) { disktest.LibvhdiReadsOurWrites(t, vhd.Format, 67125248) }
