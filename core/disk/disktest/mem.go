package disktest

import (
	"errors"
	"io"
	"sync"
)

// MemMax bounds how far a fuzzed image may grow a MemBacking.
const MemMax = 64 << 20

// MemBacking is an in-memory host file (disk.Backing) for corruption tests
// and fuzzing. Data may be read directly by the test once no image uses it.
type MemBacking struct {
	mu    sync.Mutex
	Data  []byte
	Label string // returned by Name
}

func (m *MemBacking) ReadAt(p []byte, off int64) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if off < 0 {
		return 0, errors.New("negative offset")
	}
	if off >= int64(len(m.Data)) {
		return 0, io.EOF
	}
	n := copy(p, m.Data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (m *MemBacking) WriteAt(p []byte, off int64) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if off < 0 || off+int64(len(p)) > MemMax {
		return 0, errors.New("memBacking: write beyond limit")
	}
	if end := off + int64(len(p)); end > int64(len(m.Data)) {
		m.Data = append(m.Data, make([]byte, end-int64(len(m.Data)))...)
	}
	return copy(m.Data[off:], p), nil
}

func (m *MemBacking) Size() (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return int64(len(m.Data)), nil
}

func (m *MemBacking) Truncate(n int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if n > MemMax {
		return errors.New("memBacking: too large")
	}
	if n < int64(len(m.Data)) {
		m.Data = m.Data[:n]
	} else {
		m.Data = append(m.Data, make([]byte, n-int64(len(m.Data)))...)
	}
	return nil
}

func (m *MemBacking) Sync() error  { return nil }
func (m *MemBacking) Close() error { return nil }
func (m *MemBacking) Name() string { return m.Label }

// BareMem is an in-memory host file without a lock, so that -race still
// sees unsynchronised host I/O by the code under test. It grows on writes
// and truncates up to Max bytes; past that they fail with io.ErrShortWrite.
type BareMem struct {
	B   []byte
	Max int64
}

func (m *BareMem) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off >= int64(len(m.B)) {
		return 0, io.EOF
	}
	n := copy(p, m.B[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (m *BareMem) WriteAt(p []byte, off int64) (int, error) {
	if end := off + int64(len(p)); end > int64(len(m.B)) {
		if end > m.Max {
			return 0, io.ErrShortWrite
		}
		m.B = append(m.B, make([]byte, end-int64(len(m.B)))...)
	}
	return copy(m.B[off:], p), nil
}

func (m *BareMem) Size() (int64, error) { return int64(len(m.B)), nil }
func (m *BareMem) Truncate(n int64) error {
	if n > m.Max {
		return io.ErrShortWrite
	}
	if n < int64(len(m.B)) {
		m.B = m.B[:n]
	} else {
		m.B = append(m.B, make([]byte, n-int64(len(m.B)))...)
	}
	return nil
}
func (m *BareMem) Sync() error  { return nil }
func (m *BareMem) Close() error { return nil }
func (m *BareMem) Name() string { return "mem" }
