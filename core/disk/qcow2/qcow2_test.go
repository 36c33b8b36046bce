package qcow2_test

import (
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
func TestProbe(t *testing.T) { disktest.ProbeFixtures(t, qcow2.Format) }
