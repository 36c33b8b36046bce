package target

import (
	"errors"
	"fmt"

	"github.com/pvinject/pvinject/core/disk"
)

// ErrWriteAttempt is returned (and wrapped) when anything below Inspect tries
// to open a file for writing, create one, or write, truncate or sync it.
// Inspection must never change an image; this turns a bug that would into an
// error instead of a modified disk.
var ErrWriteAttempt = errors.New("target: write attempted during read-only inspection")

// readOnlyOpener wraps an Opener so that only read-only opens reach it and
// every Backing it returns refuses to change its file.
type readOnlyOpener struct{ inner disk.Opener }

func (o readOnlyOpener) Open(path string, writable bool) (disk.Backing, error) {
	if writable {
		return nil, fmt.Errorf("%w: open %s for writing", ErrWriteAttempt, path)
	}
	b, err := o.inner.Open(path, false)
	if err != nil {
		return nil, err
	}
	return readOnlyBacking{b}, nil
}

func (o readOnlyOpener) Create(path string) (disk.Backing, error) {
	return nil, fmt.Errorf("%w: create %s", ErrWriteAttempt, path)
}

type readOnlyBacking struct{ disk.Backing }

func (b readOnlyBacking) WriteAt(p []byte, off int64) (int, error) {
	return 0, fmt.Errorf("%w: write %d bytes at %d in %s", ErrWriteAttempt, len(p), off, b.Name())
}

func (b readOnlyBacking) Truncate(size int64) error {
	return fmt.Errorf("%w: truncate %s to %d", ErrWriteAttempt, b.Name(), size)
}

// Sync is harmless on a read-only file, but nothing during inspection has a
// reason to call it, so a call means some layer believes it wrote.
func (b readOnlyBacking) Sync() error {
	return fmt.Errorf("%w: sync %s", ErrWriteAttempt, b.Name())
}

var _ disk.Opener = readOnlyOpener{}
var _ disk.Backing = readOnlyBacking{}
