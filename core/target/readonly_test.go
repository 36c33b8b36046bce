package target

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/pvinject/pvinject/core/disk"
)

// The guard under every inspection: whatever a layer asks, nothing can be
// opened for writing, created, written, truncated or synced.
func TestReadOnlyOpenerRefusesWrites(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f.img")
	if err := os.WriteFile(p, []byte("0123456789"), 0o644); err != nil {
		t.Fatal(err)
	}
	ro := readOnlyOpener{disk.OSOpener{}}
	if _, err := ro.Open(p, true); !errors.Is(err, ErrWriteAttempt) {
		t.Errorf("writable open: %v", err)
	}
	if _, err := ro.Create(p + ".new"); !errors.Is(err, ErrWriteAttempt) {
		t.Errorf("create: %v", err)
	}
	if _, err := os.Stat(p + ".new"); !os.IsNotExist(err) {
		t.Errorf("create made a file: %v", err)
	}
	b, err := ro.Open(p, false)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := b.WriteAt([]byte("x"), 0); !errors.Is(err, ErrWriteAttempt) {
		t.Errorf("WriteAt: %v", err)
	}
	if err := b.Truncate(0); !errors.Is(err, ErrWriteAttempt) {
		t.Errorf("Truncate: %v", err)
	}
	if err := b.Sync(); !errors.Is(err, ErrWriteAttempt) {
		t.Errorf("Sync: %v", err)
	}
	buf := make([]byte, 4)
	if _, err := b.ReadAt(buf, 2); err != nil || string(buf) != "2345" {
		t.Errorf("ReadAt: %q %v", buf, err)
	}
	if got, _ := os.ReadFile(p); string(got) != "0123456789" {
		t.Errorf("file changed: %q", got)
	}
}
