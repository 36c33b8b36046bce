package vhd_test

import (
	"testing"

	"github.com/pvinject/pvinject/core/disk/disktest"
	"github.com/pvinject/pvinject/core/disk/raw"
	"github.com/pvinject/pvinject/core/disk/vhd"
)

const benchSize = 64125248 // a CHS size (about 61 MiB), so vpc keeps it exactly

// BenchmarkIO compares vpc (dynamic and fixed) with the same work on a raw
// file: divide the ns/op of a vpc row by the raw row for the ratio.
func BenchmarkIO(b *testing.B) {
	disktest.BenchCreatedVsRaw(b, benchSize,
		disktest.BenchImage{Name: "raw", F: raw.Format},
		disktest.BenchImage{Name: "vpc-dynamic", F: vhd.Format},
		disktest.BenchImage{Name: "vpc-fixed", F: vhd.Format, Sub: "fixed"})
}
