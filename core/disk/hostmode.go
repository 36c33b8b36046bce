package disk

import (
	"errors"
	"io/fs"

	"github.com/pvinject/pvinject/internal/hostfile"
)

// ErrNotImageFile is wrapped by the error for a path that names a folder, a
// FIFO, a socket or a character device instead of a disk image.
var ErrNotImageFile = errors.New("not a disk image file")

// CheckHostMode refuses host entries that cannot hold a disk image. Only a
// regular file or a block device can: opening a FIFO waits for a writer in
// the kernel, deaf to Ctrl+C, and a character device such as /dev/zero reads
// without end.
func CheckHostMode(m fs.FileMode) error {
	if m.IsRegular() || m&fs.ModeDevice != 0 && m&fs.ModeCharDevice == 0 {
		return nil
	}
	return &notImageError{kind: hostfile.Kind(m)}
}

type notImageError struct{ kind string }

func (e *notImageError) Error() string        { return "it is " + e.kind + ", not a disk image file" }
func (e *notImageError) Is(target error) bool { return target == ErrNotImageFile }
