package qcow2_test

import (
	"os"
	"testing"

	"github.com/pvinject/pvinject/core/disk/disktest"
	"github.com/pvinject/pvinject/core/disk/qcow2"
)

func TestReadFixtures(t *testing.T) { disktest.ReadAll(t, qcow2.Format, disktest.Small) }

func TestRandomWritesFixtures(t *testing.T) {
	disktest.RandomWrites(t, qcow2.Format, disktest.FromManifest(t, "qcow2", disktest.Small)...)
}

func TestRandomWritesCreated(t *testing.T) {
	disktest.RandomWrites(t, qcow2.Format,
		disktest.Created(qcow2.Format, "", 64<<20),
		disktest.Created(qcow2.Format, "v2", 64<<20))
}

func TestSparse(t *testing.T) { disktest.Sparse(t, qcow2.Format, "", 1<<30, 1<<20) }

// TestProbe: Probe recognises every qcow2 fixture and no other.
func TestProbe(t *testing.T) {
	for _, e := range disktest.Entries(t, "", disktest.Small) {
		f, err := os.Open(e.Path())
		if err != nil {
			t.Fatal(err)
		}
		head := make([]byte, 64<<10)
		n, _ := f.ReadAt(head, 0)
		st, _ := f.Stat()
		f.Close()
		if got := qcow2.Probe(head[:n], st.Size()); got != (e.Format == "qcow2") {
			t.Errorf("Probe(%s) = %v", e.File, got)
		}
	}
}
