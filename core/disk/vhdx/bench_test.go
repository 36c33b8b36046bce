package vhdx_test

import (
	"testing"

	"github.com/pvinject/pvinject/core/disk/disktest"
	"github.com/pvinject/pvinject/core/disk/raw"
	"github.com/pvinject/pvinject/core/disk/vhdx"
)

const benchSize = 64 << 20

// BenchmarkIO compares vhdx (dynamic and fixed) with the same work on a raw
// file: divide the ns/op of a vhdx row by the raw row for the ratio.
func BenchmarkIO(b *testing.B) {
	disktest.BenchCreatedVsRaw(b, benchSize,
		disktest.BenchImage{Name: "raw", F: raw.Format},
		disktest.BenchImage{Name: "vhdx-dynamic", F: vhdx.Format},
		disktest.BenchImage{Name: "vhdx-fixed", F: vhdx.Format, Sub: "fixed"})
}
