package testenv

import (
	"testing"

	"github.com/pvinject/pvinject/assets"
)

// Demo gives a test its own fresh copy of the bundled demo image and its
// driver set. The tests that use it check their writes with qemu-img, so it
// requires that too.
func Demo(t testing.TB) (img, drivers string) {
	t.Helper()
	RequireTool(t, "qemu-img")
	img, drivers, err := assets.DemoImage(t.TempDir())
	if err != nil {
		t.Fatalf("the bundled demo image: %v", err)
	}
	return img, drivers
}
