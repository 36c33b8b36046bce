package qcow2

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/pvinject/pvinject/core/disk"
	"github.com/pvinject/pvinject/core/internal/testenv"
)

// memBacking is an in-memory host file for corruption tests and fuzzing.
type memBacking struct {
	mu   sync.Mutex
	data []byte
}

// maxMem bounds how far a fuzzed image may grow the in-memory file.
const maxMem = 64 << 20

func (m *memBacking) ReadAt(p []byte, off int64) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if off < 0 {
		return 0, errors.New("negative offset")
	}
	if off >= int64(len(m.data)) {
		return 0, io.EOF
	}
	n := copy(p, m.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (m *memBacking) WriteAt(p []byte, off int64) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if off < 0 || off+int64(len(p)) > maxMem {
		return 0, errors.New("memBacking: write beyond limit")
	}
	if end := off + int64(len(p)); end > int64(len(m.data)) {
		m.data = append(m.data, make([]byte, end-int64(len(m.data)))...)
	}
	return copy(m.data[off:], p), nil
}

func (m *memBacking) Size() (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return int64(len(m.data)), nil
}

func (m *memBacking) Truncate(n int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if n > maxMem {
		return errors.New("memBacking: too large")
	}
	if n < int64(len(m.data)) {
		m.data = m.data[:n]
	} else {
		m.data = append(m.data, make([]byte, n-int64(len(m.data)))...)
	}
	return nil
}

func (m *memBacking) Sync() error  { return nil }
func (m *memBacking) Close() error { return nil }
func (m *memBacking) Name() string { return "mem.qcow2" }

// seedImage reads a tiny image made by scripts/fixtures/qcow2vmdk.sh.
func seedImage(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.Fixture(t, "qcow2vmdk"), name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// zeroParent stands in for a backing file in byte-level tests.
type zeroParent struct{ size int64 }

func (z zeroParent) ReadAt(p []byte, off int64) (int, error) { clear(p); return len(p), nil }
func (z zeroParent) WriteAt(p []byte, off int64) (int, error) {
	return 0, disk.ErrReadOnly
}
func (z zeroParent) Size() int64  { return z.size }
func (z zeroParent) Flush() error { return nil }
func (z zeroParent) Close() error { return nil }

var memOpts = disk.Options{OpenParent: func(ref, child string) (disk.Image, error) { return zeroParent{1 << 20}, nil }}
