package inject

import (
	"testing"

	"github.com/pvinject/pvinject/core/internal/testenv"
)

// fixture builds (once) the synthetic disks and driver sources.
func fixture(t testing.TB) string {
	t.Helper()
	testenv.RequireTool(t, "hivexregedit", "qemu-img", "ntfs-3g", "mkntfs", "sfdisk")
	testenv.Corpus(t)
	return testenv.Fixture(t, "inject")
}
