package vmdk

import (
	"errors"
	"testing"

	"github.com/pvinject/pvinject/core/disk"
	"github.com/pvinject/pvinject/core/disk/disktest"
)

// memBacking is an in-memory host file for corruption tests and fuzzing.
type memBacking = disktest.MemBacking

// newMem returns a memBacking holding data.
func newMem(data []byte) *memBacking { return &memBacking{Data: data, Label: "mem.vmdk"} }

// seedImage reads a tiny image made by scripts/fixtures/qcow2vmdk.sh.
func seedImage(t testing.TB, name string) []byte {
	t.Helper()
	return disktest.FixtureBytes(t, "qcow2vmdk", name)
}

// zeroParent stands in for a backing file in byte-level tests.
type zeroParent = disktest.ZeroImage

var memOpts = disk.Options{Opener: noFiles{}, OpenParent: func(ref, child string) (disk.Image, error) { return zeroParent{N: 1 << 20}, nil }}

// noFiles refuses every host file: fuzzed descriptors must not reach the disk.
type noFiles struct{}

func (noFiles) Open(path string, writable bool) (disk.Backing, error) {
	return nil, errors.New("no extent files in this test")
}
func (noFiles) Create(path string) (disk.Backing, error) { return nil, errors.New("no files") }
