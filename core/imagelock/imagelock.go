package imagelock

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pvinject/pvinject/internal/hostfile"
)

// ErrLocked is wrapped by the error for an image another pvinject run holds.
var ErrLocked = errors.New("imagelock: the image is being changed by another pvinject run")

// ErrInUse is wrapped by the error for an image another program is using.
var ErrInUse = errors.New("imagelock: the image is in use")

// ErrNotFile is wrapped by the error for a path that is neither a regular
// file nor a block device (a FIFO, a socket, a folder).
var ErrNotFile = errors.New("imagelock: not a disk image file")

// Mode is how the lock is held.
type Mode int

const (
	// Exclusive: the holder writes the image; nobody else may hold it.
	Exclusive Mode = iota
	// Shared: the holder reads the image; writers are kept out.
	Shared
)

// ID identifies a file independently of its names: device and inode on Unix,
// volume serial number and file index on Windows.
type ID struct {
	Dev, Ino uint64
}

// Lock is a held lock on an image file.
type Lock struct {
	f *os.File
	// Path is the canonical name of the image: absolute, symlinks resolved.
	// The journal is named after it.
	Path string
	// ID is the file's identity.
	ID ID
	// Links is the file's number of hard links (names).
	Links int
	// Block is true when the image is a block device.
	Block bool
	mode  Mode
}

// Error is a refusal to lock or use an image.
type Error struct {
	Path   string // the name the caller used
	Reason string // one line: what holds the image
	Holder string // "program (pid N)" where known
	kind   error  // ErrLocked, ErrInUse or ErrNotFile
}

func (e *Error) Error() string {
	s := e.Path + ": " + e.Reason
	if e.Holder != "" {
		s += " (" + e.Holder + ")"
	}
	return s
}

func (e *Error) Unwrap() error { return e.kind }

// Canonical returns the absolute name of path with every symlink resolved:
// the name under which the image's journal is kept. The file must exist.
func Canonical(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("imagelock: %s: %w", path, err)
	}
	c, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", fmt.Errorf("imagelock: %w", err)
	}
	return c, nil
}

// Name is Canonical(path); for a file that no longer exists, its folder's
// canonical name joined with its base name; else path itself. It is the
// name to look for the image's journal under.
func Name(path string) string {
	if c, err := Canonical(path); err == nil {
		return c
	}
	if d, err := Canonical(filepath.Dir(path)); err == nil {
		return filepath.Join(d, filepath.Base(path))
	}
	return path
}

// Acquire locks the image at path in mode without waiting: when another
// pvinject run holds it, it returns an *Error wrapping ErrLocked that names
// the holder where the system says. The path must name an existing regular
// file or block device; nothing is ever created.
func Acquire(path string, mode Mode) (*Lock, error) {
	canon, err := Canonical(path)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(canon)
	if err != nil {
		return nil, fmt.Errorf("imagelock: %w", err)
	}
	block := st.Mode()&os.ModeDevice != 0 && st.Mode()&os.ModeCharDevice == 0 // NotImage lets block devices through
	if why := hostfile.NotImage(st.Mode()); why != "" {
		return nil, &Error{Path: path, Reason: why, kind: ErrNotFile}
	}
	f, err := openForLock(canon)
	if err != nil {
		return nil, fmt.Errorf("imagelock: open %s: %w", path, err)
	}
	id, links, err := identity(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("imagelock: %s: %w", path, err)
	}
	if err := lockFile(f, mode); err != nil {
		f.Close()
		if errors.Is(err, errWouldBlock) {
			return nil, &Error{Path: path, Reason: "another pvinject run is changing this image; wait for it to finish",
				Holder: lockHolder(id), kind: ErrLocked}
		}
		return nil, fmt.Errorf("imagelock: lock %s: %w", path, err)
	}
	// The name may have been pointed at another file between the stat and
	// the open; the lock must be on the file the canonical name names now.
	if again, err := os.Stat(canon); err != nil || !os.SameFile(st, again) {
		f.Close()
		return nil, fmt.Errorf("imagelock: %s was replaced while it was being locked; try again", path)
	}
	return &Lock{f: f, Path: canon, ID: id, Links: links, Block: block, mode: mode}, nil
}

// Release drops the lock. It is safe to call more than once.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close() // closing the last descriptor drops flock and LockFileEx locks
	l.f = nil
	return err
}

// Same reports whether path names the locked file now.
func (l *Lock) Same(path string) bool {
	st, err := os.Stat(path)
	if err != nil || l.f == nil {
		return false
	}
	mine, err := l.f.Stat()
	return err == nil && os.SameFile(st, mine)
}
