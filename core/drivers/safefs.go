package drivers

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/pvinject/pvinject/core/drivers/inf"
	"github.com/pvinject/pvinject/internal/hostfile"
)

// ErrUnsafeFile is wrapped by the error for a driver-source entry that is
// not plainly a file or folder of the source: a symlink leading out of it,
// a FIFO, a device or socket, or a file too large to be a driver file.
var ErrUnsafeFile = errors.New("drivers: not a driver file")

// MaxSourceFileSize bounds any file read from a driver folder. The largest
// files a driver package holds are vendor installers (tens of MB); a
// multi-gigabyte "driver" is a mistake or an attack, and refusing it before
// reading keeps a sparse 2 GB file from costing a 2 GB read.
const MaxSourceFileSize = 256 << 20

// sourceFS reads a driver folder without ever following a name out of it.
// A driver source may come from anywhere (a download, a colleague's share),
// and pvinject runs with the rights of an admin: os.DirFS would follow
// viostor.sys -> /etc/shadow and copy the host file into the guest, and
// block forever opening a FIFO. Every name is resolved (symlinks included,
// at any depth) and must stay inside the folder, and must be a regular file
// or a folder; files are opened non-blocking and checked again after the
// open, so a name swapped between the check and the open is caught too.
type sourceFS struct {
	root string // absolute, symlinks resolved
}

func newSourceFS(dir string) (*sourceFS, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("drivers: %w", err)
	}
	root, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, fmt.Errorf("drivers: %w", err)
	}
	return &sourceFS{root: root}, nil
}

// resolve returns the host path and Lstat of name after checking both.
func (s *sourceFS) resolve(op, name string) (string, fs.FileInfo, error) {
	if !fs.ValidPath(name) {
		return "", nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	full := filepath.Join(s.root, filepath.FromSlash(name))
	real, err := filepath.EvalSymlinks(full)
	if err != nil {
		return "", nil, &fs.PathError{Op: op, Path: name, Err: unwrapPath(err)}
	}
	if rel, err := filepath.Rel(s.root, real); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", nil, s.unsafe(name, "a link to "+real+", outside the driver source")
	}
	st, err := os.Lstat(real)
	if err != nil {
		return "", nil, &fs.PathError{Op: op, Path: name, Err: unwrapPath(err)}
	}
	if err := s.checkMode(name, st); err != nil {
		return "", nil, err
	}
	return real, st, nil
}

func (s *sourceFS) checkMode(name string, st fs.FileInfo) error {
	m := st.Mode()
	switch {
	case m.IsDir():
		return nil
	case m.IsRegular():
		if st.Size() > MaxSourceFileSize {
			return s.unsafe(name, fmt.Sprintf("%d bytes, larger than any driver file (limit %d MiB)", st.Size(), MaxSourceFileSize>>20))
		}
		return nil
	}
	return s.unsafe(name, modeWords(m))
}

// modeWords says why an entry that is not a file is refused.
func modeWords(m fs.FileMode) string {
	return hostfile.Kind(m) + ", not a file"
}

func (s *sourceFS) unsafe(name, why string) error {
	return &UnsafeFileError{Path: filepath.Join(s.root, filepath.FromSlash(name)), Why: why}
}

// UnsafeFileError names a driver-source entry that is not read, and why.
type UnsafeFileError struct {
	Path string // host path of the entry
	Why  string // "a link to /etc/shadow, outside the driver source"
}

func (e *UnsafeFileError) Error() string { return e.Path + " is " + e.Why }
func (e *UnsafeFileError) Unwrap() error { return ErrUnsafeFile }

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func (s *sourceFS) Open(name string) (fs.File, error) {
	real, st, err := s.resolve("open", name)
	if err != nil {
		return nil, err
	}
	f, err := hostfile.OpenNoWait(real, os.O_RDONLY)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: unwrapPath(err)}
	}
	got, err := f.Stat()
	if err == nil && !os.SameFile(st, got) {
		err = s.unsafe(name, "replaced while it was being opened")
	}
	if err == nil {
		err = s.checkMode(name, got)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func (s *sourceFS) Stat(name string) (fs.FileInfo, error) {
	_, st, err := s.resolve("stat", name)
	return st, err
}

func (s *sourceFS) ReadDir(name string) ([]fs.DirEntry, error) {
	real, _, err := s.resolve("readdir", name)
	if err != nil {
		return nil, err
	}
	ents, err := os.ReadDir(real)
	if err != nil {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: unwrapPath(err)}
	}
	return ents, nil
}

// checkEntry refuses, during the walk, a symlink that leaves the source and
// any entry that is neither a file nor a folder, so a hostile tree is
// refused before anything is read, naming the entry.
func (s *sourceFS) checkEntry(name string, d fs.DirEntry) error {
	if d.Type().IsRegular() || d.IsDir() {
		return nil
	}
	if d.Type()&fs.ModeSymlink == 0 {
		st, err := d.Info()
		if err != nil {
			return nil // vanished: the walk reports it
		}
		return s.checkMode(name, st)
	}
	_, _, err := s.resolve("stat", name)
	if errors.Is(err, ErrUnsafeFile) {
		return err
	}
	return nil // a dangling link is a missing file, reported where it is used
}

// PEArch returns the machine type of a Windows driver binary (.sys), or an
// error when b is not a PE image for a Windows driver platform. Every .sys
// file pvinject writes into a guest passes this check first.
func PEArch(b []byte) (inf.Arch, error) { return peArch(b) }
