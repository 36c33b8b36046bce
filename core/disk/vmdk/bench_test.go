package vmdk_test

import (
	"testing"

	"github.com/pvinject/pvinject/core/disk/disktest"
	"github.com/pvinject/pvinject/core/disk/vmdk"
	"github.com/pvinject/pvinject/core/internal/testenv"
)

// BenchmarkIO: compare ns/op of each vmdk line with the raw line above it,
// on a fully allocated 64 MiB image made by qemu-img
// (scripts/fixtures/qcow2vmdk.sh) and raw on the same bytes.
func BenchmarkIO(b *testing.B) {
	disktest.BenchFixtureVsRaw(b, vmdk.Format, disktest.Entry{Dir: testenv.Fixture(b, "qcow2vmdk"), File: "bench.vmdk", Format: vmdk.Format.Name, Expect: "bench.raw"})
}
