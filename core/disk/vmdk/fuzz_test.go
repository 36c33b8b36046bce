package vmdk

import (
	"testing"

	"github.com/pvinject/pvinject/core/disk/disktest"
)

var fuzzSeeds = []string{"fuzz-sparse.vmdk", "fuzz-stream.vmdk"}

// FuzzDescriptor parses descriptor text; it must never panic.
func FuzzDescriptor(f *testing.F) {
	for _, s := range []string{"vmfs.vmdk", "multi.vmdk", "cidchild.vmdk"} {
		b := seedImage(f, s)
		f.Add(string(b[:min(len(b), 4096)]))
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseDescriptor(s)
		if err != nil {
			return
		}
		for _, e := range d.extents {
			if e.sectors < 0 || e.sectors > maxSectors || e.offset < 0 {
				t.Fatalf("accepted extent %+v", e)
			}
		}
		if _, err := parseDescriptor(d.withCID(0x12345678)); err != nil {
			t.Fatalf("descriptor with a new CID no longer parses: %v", err)
		}
	})
}

// FuzzSparseHeader decodes the KDMV header; it must never panic.
func FuzzSparseHeader(f *testing.F) {
	for _, s := range fuzzSeeds {
		b := seedImage(f, s)
		f.Add(b[:512])
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := parseSparseHeader(b)
		if err != nil || h.validate() != nil {
			return
		}
		if h.grainSize == 0 || h.numGTEs == 0 || h.gdEntries() > maxGDEntries {
			t.Fatalf("accepted header %+v", h)
		}
		if _, err := parseSparseHeader(h.marshal()); err != nil {
			t.Fatalf("re-marshalled header does not parse: %v", err)
		}
	})
}

// FuzzImage opens fuzzed sparse extents (grain directory and tables,
// compressed grains, embedded descriptor), reads, maps and writes them.
func FuzzImage(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(seedImage(f, s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 1<<20 {
			return
		}
		opts := memOpts
		opts.Writable = true
		img, err := Open("mem.vmdk", newMem(b), opts)
		if err != nil {
			return
		}
		disktest.Exercise(img)
	})
}
