package qcow2_test

import (
	"testing"

	"github.com/pvinject/pvinject/core/disk/disktest"
	"github.com/pvinject/pvinject/core/disk/qcow2"
)

func TestReadBigFixtures(t *testing.T) { disktest.ReadBig(t, qcow2.Format) }
