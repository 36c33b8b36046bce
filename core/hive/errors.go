package hive

import (
	"errors"
	"fmt"
)

// Sentinel errors; test with errors.Is.
var (
	ErrNotHive    = errors.New("hive: not a registry hive (no regf signature)")
	ErrWin9x      = errors.New("hive: Windows 9x registry (CREG) is not supported")
	ErrTruncated  = errors.New("hive: truncated")
	ErrChecksum   = errors.New("hive: base block checksum mismatch")
	ErrCorrupt    = errors.New("hive: corrupt structure")
	ErrCycle      = errors.New("hive: key tree has a cycle")
	ErrNotFound   = errors.New("hive: not found")
	ErrExists     = errors.New("hive: already exists")
	ErrType       = errors.New("hive: wrong value type")
	ErrReadOnly   = errors.New("hive: opened read-only")
	ErrClosed     = errors.New("hive: closed")
	ErrTooLarge   = errors.New("hive: too large")
	ErrLog        = errors.New("hive: transaction log unusable")
	ErrVerify     = errors.New("hive: verification after commit failed")
	ErrNoLibhivex = errors.New("hive: built without cgo/libhivex; rebuild with CGO_ENABLED=1 after `apt-get install libhivex-dev` (Debian/Ubuntu) or `dnf install hivex-devel` (Fedora)")
)

// FormatError locates a structural problem in hive or log bytes.
type FormatError struct {
	File   string // hive or log name given to Open
	Offset int64  // byte offset in that file
	Struct string // on-disk structure, e.g. "base block", "nk", "HvLE"
	Reason string
	Err    error // a sentinel above
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("%s: %s at offset 0x%x: %s", e.File, e.Struct, e.Offset, e.Reason)
}

func (e *FormatError) Unwrap() error { return e.Err }

func formatErr(file string, off int64, st string, sentinel error, format string, args ...any) error {
	return &FormatError{File: file, Offset: off, Struct: st, Reason: fmt.Sprintf(format, args...), Err: sentinel}
}
