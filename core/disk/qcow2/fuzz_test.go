package qcow2

import (
	"encoding/binary"
	"testing"

	"github.com/pvinject/pvinject/core/disk/disktest"
)

var fuzzSeeds = []string{"fuzz-v3.qcow2", "fuzz-v2.qcow2", "fuzz-comp.qcow2", "fuzz-overlay.qcow2"}

// FuzzHeader decodes headers and extensions; it must never panic.
func FuzzHeader(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(seedImage(f, s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := parseHeader(b)
		if err != nil {
			return
		}
		if h.clusterBits < minClusterBits || h.clusterBits > maxClusterBits || h.refcountOrder > 6 {
			t.Fatalf("accepted out-of-range header %+v", h)
		}
	})
}

// FuzzImage opens fuzzed images (L1/L2/refcount decoding), reads, maps and
// writes them; it must never panic or hang.
func FuzzImage(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(seedImage(f, s))
	}
	f.Fuzz(runFuzzImage)
}

func runFuzzImage(t *testing.T, b []byte) {
	{
		// Big clusters only make each run slow, not the decoding different.
		if len(b) > 1<<20 || (len(b) >= 24 && binary.BigEndian.Uint32(b[20:]) > 16) {
			return
		}
		opts := memOpts
		opts.Writable = true
		img, err := Open("mem.qcow2", newMem(b), opts)
		if err != nil {
			return
		}
		disktest.Exercise(img)
	}
}
