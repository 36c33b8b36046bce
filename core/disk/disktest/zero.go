package disktest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/pvinject/pvinject/core/disk"
	"github.com/pvinject/pvinject/core/internal/testenv"
)

// ZeroImage is a read-only image of N zero bytes: a stand-in for a backing
// file in byte-level tests.
type ZeroImage struct{ N int64 }

func (z ZeroImage) ReadAt(p []byte, off int64) (int, error) { clear(p); return len(p), nil }
func (z ZeroImage) WriteAt(p []byte, off int64) (int, error) {
	return 0, disk.ErrReadOnly
}
func (z ZeroImage) Size() int64  { return z.N }
func (z ZeroImage) Flush() error { return nil }
func (z ZeroImage) Close() error { return nil }

// FixtureBytes reads file name of the fixture built by
// scripts/fixtures/<fixture>.sh.
func FixtureBytes(t testing.TB, fixture, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.Fixture(t, fixture), name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
