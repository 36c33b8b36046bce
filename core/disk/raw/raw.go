package raw

import (
	"errors"
	"fmt"
	"sync"

	"github.com/pvinject/pvinject/core/disk"
)

// Format is the raw container. Probe always succeeds: raw must be tried last.
var Format = disk.Format{
	Name:   "raw",
	Probe:  func(head []byte, size int64) bool { return true },
	Open:   Open,
	Create: Create,
}

// Image is a raw image or block device.
type Image struct {
	path     string
	b        disk.Backing
	size     int64
	writable bool

	mu     sync.Mutex // guards err and closed; ReadAt needs no lock
	err    error      // sticky write error: once a write failed, Flush reports it
	closed bool
}

// Open opens the raw image whose host file b is already open. Close does not
// close b: the caller opened it.
func Open(path string, b disk.Backing, opts disk.Options) (disk.Image, error) {
	size, err := b.Size()
	if err != nil {
		return nil, fmt.Errorf("raw: size of %s: %w", path, err)
	}
	if size < 0 {
		return nil, &disk.FormatError{File: path, Format: "raw", Structure: "file", Offset: -1, Reason: "negative size"}
	}
	return &Image{path: path, b: b, size: size, writable: opts.Writable}, nil
}

// Create makes a new sparse raw image of size bytes at path (which must not
// exist). The returned image owns the new file and closes it on Close.
func Create(path string, size int64, opts disk.CreateOptions) (disk.Image, error) {
	if size < 0 {
		return nil, fmt.Errorf("raw: create %s: negative size %d", path, size)
	}
	if opts.Subformat != "" {
		return nil, fmt.Errorf("raw: create %s: raw has no subformat %q", path, opts.Subformat)
	}
	op := opts.Opener
	if op == nil {
		op = disk.OSOpener{}
	}
	b, err := op.Create(path)
	if err != nil {
		return nil, fmt.Errorf("raw: create %s: %w", path, err)
	}
	if err := b.Truncate(size); err != nil {
		b.Close()
		return nil, fmt.Errorf("raw: create %s: set size %d: %w", path, size, err)
	}
	return &ownedImage{Image{path: path, b: b, size: size, writable: true}}, nil
}

// ownedImage also closes its backing file: it was created by Create.
type ownedImage struct{ Image }

func (o *ownedImage) Close() error {
	err := o.Image.Close()
	if cerr := o.b.Close(); err == nil {
		err = cerr
	}
	return err
}

// Size is the virtual size, the file size at open.
func (m *Image) Size() int64 { return m.size }

// ReadAt reads guest bytes; it is safe for concurrent use.
func (m *Image) ReadAt(p []byte, off int64) (int, error) {
	if err := disk.CheckRange(off, len(p), m.size); err != nil {
		return 0, fmt.Errorf("raw: read %s: %w", m.path, err)
	}
	n, err := m.b.ReadAt(p, off)
	if err != nil && n == len(p) {
		err = nil // io.EOF exactly at the end of the file is not an error here
	}
	if err != nil {
		// A file shorter than at open (truncated by someone else) reads as a short read.
		return n, fmt.Errorf("raw: read %s at %d: %w", m.path, off, err)
	}
	return n, nil
}

// WriteAt writes guest bytes. It never grows the file.
func (m *Image) WriteAt(p []byte, off int64) (int, error) {
	if !m.writable {
		return 0, fmt.Errorf("raw: write %s: %w", m.path, disk.ErrReadOnly)
	}
	if err := disk.CheckRange(off, len(p), m.size); err != nil {
		return 0, fmt.Errorf("raw: write %s: %w", m.path, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return 0, fmt.Errorf("raw: write %s: image closed", m.path)
	}
	if m.err != nil {
		return 0, m.err
	}
	n, err := m.b.WriteAt(p, off)
	if err != nil {
		m.err = fmt.Errorf("raw: write %s at %d: %w", m.path, off, err)
		return n, m.err
	}
	return n, nil
}

// Flush syncs the host file.
func (m *Image) Flush() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.flushLocked()
}

func (m *Image) flushLocked() error {
	if m.err != nil {
		return m.err
	}
	if !m.writable || m.closed {
		return nil
	}
	if err := m.b.Sync(); err != nil {
		return fmt.Errorf("raw: sync %s: %w", m.path, err)
	}
	return nil
}

// Close flushes. The backing file belongs to whoever opened it.
func (m *Image) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	err := m.flushLocked()
	m.closed = true
	return err
}

// Info describes the image.
func (m *Image) Info() disk.Info {
	return disk.Info{Format: "raw", VirtualSize: m.size, Files: []string{m.path}}
}

// errNoMap means the host cannot tell data from holes here.
var errNoMap = errors.New("raw: no sparse map")
