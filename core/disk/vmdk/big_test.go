package vmdk_test

import (
	"testing"

	"github.com/pvinject/pvinject/core/disk/disktest"
	"github.com/pvinject/pvinject/core/disk/vmdk"
)

func TestReadBigFixtures(t *testing.T) { disktest.ReadBig(t, vmdk.Format) }
