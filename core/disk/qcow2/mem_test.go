package qcow2

import (
	"testing"

	"github.com/pvinject/pvinject/core/disk"
	"github.com/pvinject/pvinject/core/disk/disktest"
)

// memBacking is an in-memory host file for corruption tests and fuzzing.
type memBacking = disktest.MemBacking

// newMem returns a memBacking holding data.
func newMem(data []byte) *memBacking { return &memBacking{Data: data, Label: "mem.qcow2"} }

// seedImage reads a tiny image made by scripts/fixtures/qcow2vmdk.sh.
func seedImage(t testing.TB, name string) []byte {
	t.Helper()
	return disktest.FixtureBytes(t, "qcow2vmdk", name)
}

// zeroParent stands in for a backing file in byte-level tests.
type zeroParent = disktest.ZeroImage

var memOpts = disk.Options{OpenParent: func(ref, child string) (disk.Image, error) { return zeroParent{N: 1 << 20}, nil }}
