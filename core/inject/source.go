package inject

import (
	"fmt"
	"sync"

	"github.com/pvinject/pvinject/core/drivers"
	"github.com/pvinject/pvinject/core/drivers/inf"
)

// Source is a driver source opened once for every plan of a run and the
// Apply that follows: its packages are parsed once, and each driver file is
// read from the folder or ISO once, however many plans are built (the
// wizard builds one per review and one for Apply with the chosen options).
// Safe for use by one run at a time; the file cache is locked.
type Source struct {
	*drivers.Source

	mu    sync.Mutex
	files map[string][]byte
	read  int64
}

// OpenSource opens the driver source at path (folder, ISO or single INF).
func OpenSource(path string) (*Source, error) {
	s, err := drivers.OpenSource(path, inf.Options{})
	if err != nil {
		return nil, fmt.Errorf("inject: driver source %s: %w", path, err)
	}
	return &Source{Source: s, files: map[string][]byte{}}, nil
}

// ReadFile reads a file of the source (a slash path), bounded, from the
// cache when it was read before. The bytes are shared: do not change them.
func (s *Source) ReadFile(name string) ([]byte, error) {
	s.mu.Lock()
	b, ok := s.files[name]
	s.mu.Unlock()
	if ok {
		return b, nil
	}
	b, err := readSourceFile(s.FS, name)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.files[name] = b
	s.read += int64(len(b))
	s.mu.Unlock()
	return b, nil
}

// BytesRead is how many bytes of driver files were read from the source
// (not from the cache) so far.
func (s *Source) BytesRead() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.read
}
