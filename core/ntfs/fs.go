package ntfs

import (
	"errors"
	"fmt"
	"io/fs"
	"time"
)

// FS is the read-only view of a volume that guest detection and planning code
// use. Paths are absolute or relative to the volume root, separated by '/' or
// '\', and matched case-insensitively with the volume's $UpCase table as
// Windows does. Implementations MUST be safe for sequential use only.
type FS interface {
	// ReadFile returns the unnamed $DATA stream of a file. Errors wrap
	// fs.ErrNotExist for missing paths and ErrIsDir for directories.
	ReadFile(path string) ([]byte, error)
	// Stat describes a file or directory.
	Stat(path string) (FileInfo, error)
	// ReadDir lists a directory's entries (Win32/POSIX names only, no DOS
	// aliases, no "." entries), sorted by NTFS collation.
	ReadDir(path string) ([]FileInfo, error)
}

// File attribute flags ($STANDARD_INFORMATION / $FILE_NAME).
const (
	AttrReadOnly     uint32 = 0x0001
	AttrHidden       uint32 = 0x0002
	AttrSystem       uint32 = 0x0004
	AttrDirectory    uint32 = 0x0010 // FILE_ATTRIBUTE_DIRECTORY (Win32 view)
	AttrArchive      uint32 = 0x0020
	AttrSparse       uint32 = 0x0200
	AttrReparsePoint uint32 = 0x0400
	AttrCompressed   uint32 = 0x0800
	AttrEncrypted    uint32 = 0x4000
	// attrDupIndex marks a directory inside $FILE_NAME and index keys.
	attrDupIndex uint32 = 0x10000000
)

// FileInfo describes one file or directory.
type FileInfo struct {
	Name       string    // name as stored (Win32 or POSIX namespace)
	Size       int64     // logical size of the unnamed $DATA stream; 0 for directories
	IsDir      bool      // has a $I30 index
	Attributes uint32    // $STANDARD_INFORMATION file attributes (Attr* flags)
	ModTime    time.Time // last data change
	Record     uint64    // MFT record number
}

// Compressed reports whether the file or directory is marked compressed.
func (fi FileInfo) Compressed() bool { return fi.Attributes&AttrCompressed != 0 }

// Encrypted reports whether the file or directory is EFS-encrypted.
func (fi FileInfo) Encrypted() bool { return fi.Attributes&AttrEncrypted != 0 }

// Sentinel errors. Test with errors.Is.
var (
	// ErrCorrupt: an on-disk structure is malformed.
	ErrCorrupt = errors.New("ntfs: corrupt structure")
	// ErrNotExist: no such file; also matches fs.ErrNotExist.
	ErrNotExist = fmt.Errorf("ntfs: %w", fs.ErrNotExist)
	// ErrExist: the name is already taken; also matches fs.ErrExist.
	ErrExist = fmt.Errorf("ntfs: %w", fs.ErrExist)
	// ErrIsDir: a file operation was applied to a directory.
	ErrIsDir = errors.New("ntfs: is a directory")
	// ErrNotDir: a path component is not a directory.
	ErrNotDir = errors.New("ntfs: not a directory")
	// ErrReadOnly: the volume was opened read-only.
	ErrReadOnly = errors.New("ntfs: volume opened read-only")
	// ErrUnsupported: the volume uses a feature this package cannot write
	// (compression, encryption, non-resident attribute list, ...).
	ErrUnsupported = errors.New("ntfs: unsupported")
	// ErrNoSpace: not enough free clusters or MFT records.
	ErrNoSpace = errors.New("ntfs: no space left on volume")
	// ErrClosed: the volume was closed.
	ErrClosed = errors.New("ntfs: volume closed")
)

// CorruptError locates a malformed structure. It wraps ErrCorrupt.
type CorruptError struct {
	Structure string // e.g. "MFT record 37", "index block VCN 4 of record 5"
	Offset    int64  // byte offset on the volume, -1 if not known
	Reason    string
}

func (e *CorruptError) Error() string {
	if e.Offset >= 0 {
		return fmt.Sprintf("ntfs: corrupt %s at volume offset %d: %s", e.Structure, e.Offset, e.Reason)
	}
	return fmt.Sprintf("ntfs: corrupt %s: %s", e.Structure, e.Reason)
}

func (e *CorruptError) Unwrap() error { return ErrCorrupt }

func corrupt(structure string, off int64, format string, args ...any) error {
	return &CorruptError{Structure: structure, Offset: off, Reason: fmt.Sprintf(format, args...)}
}

// PathError names the path an operation failed on.
type PathError = fs.PathError

// Compile-time check that *Volume offers the read-only FS.
var _ FS = (*Volume)(nil)
