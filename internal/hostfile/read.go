package hostfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// ErrNotFile is wrapped by ReadFile's error for a path that is not a
// regular file.
var ErrNotFile = errors.New("not a file")

// ErrTooLarge is wrapped by ReadFile's error for a file over its limit.
var ErrTooLarge = errors.New("larger than such a file can be")

// FileError names a file that is refused, and why, with the path once.
type FileError struct {
	Path string
	Why  string // "it is a FIFO (named pipe), not a file"
	kind error
}

func (e *FileError) Error() string        { return e.Path + ": " + e.Why }
func (e *FileError) Is(target error) bool { return target == e.kind }

func notFile(name string, m fs.FileMode) error {
	return &FileError{Path: name, Why: "it is " + Kind(m) + ", not a file", kind: ErrNotFile}
}

// ReadFile reads a small file that pvinject keeps or is given (a report, an
// answer file, a registry log) in full, but only a regular file of at most
// limit bytes. os.ReadFile of a FIFO waits for a writer in the kernel, deaf
// to Ctrl+C, and of /dev/zero never ends; both are refused here at once.
func ReadFile(name string, limit int64) ([]byte, error) {
	f, err := OpenNoWait(name, os.O_RDONLY)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, notFile(name, st.Mode())
	}
	if st.Size() > limit {
		return nil, &FileError{Path: name, Why: fmt.Sprintf("it is %d bytes, larger than such a file can be (%d bytes)", st.Size(), limit), kind: ErrTooLarge}
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit { // it grew while being read
		return nil, &FileError{Path: name, Why: fmt.Sprintf("it grew past %d bytes while being read", limit), kind: ErrTooLarge}
	}
	return b, nil
}
