// Package disk defines what every disk-image container in pvinject has in
// common: a flat, byte-addressable virtual disk (Image) stored in one or more
// host files (Backing) opened through an Opener.
//
// The Opener indirection exists so that journaling (core/journal) and fault
// injection in tests can sit under every format without the formats knowing:
// a format writes its metadata and data to its Backing files, and whatever
// wraps those files sees every byte that changes on the host.
//
// Every image is hostile input: formats bound all sizes and offsets read from
// disk and return *FormatError rather than panicking.
package disk

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// Image is a virtual disk, whatever its container.
//
// ReadAt and WriteAt address the guest-visible disk. Reads of never-written
// regions return zeros. Implementations MUST be safe for concurrent ReadAt
// calls; WriteAt, Flush and Close are called from one goroutine at a time.
type Image interface {
	io.ReaderAt
	io.WriterAt
	// Size is the virtual size in bytes.
	Size() int64
	// Flush makes every completed WriteAt durable in the container
	// (metadata included) and syncs the backing files.
	Flush() error
	// Close flushes and closes the files the image opened.
	Close() error
}

// Info describes an opened image for reports and `pvinject inspect`.
type Info struct {
	Format      string // short name: raw, vpc, vhdx, vmdk, qcow2 (qemu-img's names)
	Subformat   string // e.g. "dynamic", "fixed", "monolithicSparse", "v3"
	VirtualSize int64
	Files       []string // host files of this layer, first is the one opened
	Parent      string   // parent reference as stored in the image; "" when none
	ReadOnly    bool     // the format or its subformat cannot be written here
}

// Describer is implemented by every Image of this project.
type Describer interface {
	Info() Info
}

// Extent is a run of the virtual disk that a layer has (or has not) allocated.
type Extent struct {
	Offset, Length int64
	Allocated      bool // false: reads come from the parent layer, or zeros
	Zero           bool // allocated but known to read as zeros
}

// Mapper is implemented by sparse formats so that copies can skip holes.
// Extents covering [off, off+length) are returned in order and without gaps.
type Mapper interface {
	Map(off, length int64) ([]Extent, error)
}

// Backing is one host file beneath an image.
type Backing interface {
	io.ReaderAt
	io.WriterAt
	Size() (int64, error)
	Truncate(size int64) error
	Sync() error
	Close() error
	// Name is the host path, for error messages.
	Name() string
}

// Opener opens the host files of an image. It is the seam for journaling and
// fault injection.
type Opener interface {
	Open(path string, writable bool) (Backing, error)
	// Create makes a new, empty host file (for new images and new extents).
	Create(path string) (Backing, error)
}

// OSOpener opens files on the host filesystem.
type OSOpener struct{}

// Open opens path read-only or read-write. How the host is asked (sharing
// modes and raw disks on Windows) is in open_windows.go and open_other.go.
func (OSOpener) Open(path string, writable bool) (Backing, error) {
	return openHost(path, writable)
}

// Create creates path, failing if it exists so nothing is overwritten by mistake.
func (OSOpener) Create(path string) (Backing, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, err
	}
	return &osFile{f}, nil
}

// NewFileBacking wraps an already-open file.
func NewFileBacking(f *os.File) Backing { return &osFile{f} }

type osFile struct{ *os.File }

func (f *osFile) Size() (int64, error) {
	// Block devices report size 0 in Stat; seeking to the end works for both.
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if st.Mode().IsRegular() {
		return st.Size(), nil
	}
	return f.Seek(0, io.SeekEnd)
}

// Options control how an image is opened.
type Options struct {
	// Writable opens the top layer read-write. Read-only is the zero value.
	Writable bool
	// Opener opens host files; nil means OSOpener.
	Opener Opener
	// OpenParent opens a parent (backing) image named by ref as stored in the
	// child at path childPath. It is supplied by core/image, which resolves
	// relative paths, detects loops and opens parents read-only.
	OpenParent func(ref, childPath string) (Image, error)
	// AllowParentOutside lets a parent (backing) file resolve outside the
	// child's folder. Off by default: an image from elsewhere could name any
	// host file as its parent (core/image.ResolveParentIn).
	AllowParentOutside bool
}

// FileOpener returns the Opener to use.
func (o Options) FileOpener() Opener {
	if o.Opener == nil {
		return OSOpener{}
	}
	return o.Opener
}

// CreateOptions control a new image.
type CreateOptions struct {
	Opener    Opener
	Subformat string // format-specific; "" means the format's default
}

// Format is one container format.
type Format struct {
	// Name is qemu-img's name for the format.
	Name string
	// Probe reports whether the first bytes of a file (at least 64 KiB, or the
	// whole file when shorter) and its size look like this format.
	Probe func(head []byte, size int64) bool
	// Open opens an image whose first file, already opened, is b at path.
	Open func(path string, b Backing, opts Options) (Image, error)
	// Create makes a new empty image of the given virtual size at path.
	// nil when this project cannot write the format.
	Create func(path string, size int64, opts CreateOptions) (Image, error)
}

// Sentinel errors shared by all formats. Test with errors.Is.
var (
	// ErrReadOnlyFormat: the format or subformat can be read but not written.
	ErrReadOnlyFormat = errors.New("disk: format is read-only in pvinject; write the result to a new image with --output instead")
	// ErrReadOnly: the image was opened read-only.
	ErrReadOnly = errors.New("disk: image opened read-only")
	// ErrOutOfRange: an access past the end of the virtual disk.
	ErrOutOfRange = errors.New("disk: access beyond end of disk")
	// ErrUnknownFormat: no format recognised the file's contents.
	ErrUnknownFormat = errors.New("disk: unrecognised disk image format")
)

// FormatError reports a structural problem in an image file.
type FormatError struct {
	File      string // host path
	Format    string
	Structure string // e.g. "footer", "BAT", "L2 table"
	Offset    int64  // byte offset in File, -1 when not applicable
	Reason    string
	Err       error // optional underlying error
}

func (e *FormatError) Error() string {
	s := fmt.Sprintf("%s: %s %s", e.File, e.Format, e.Structure)
	if e.Offset >= 0 {
		s += fmt.Sprintf(" at offset %d", e.Offset)
	}
	s += ": " + e.Reason
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *FormatError) Unwrap() error { return e.Err }

// CheckRange validates an access of n bytes at off against size.
func CheckRange(off int64, n int, size int64) error {
	if off < 0 || int64(n) < 0 || off > size || int64(n) > size-off {
		return fmt.Errorf("%w: offset %d length %d size %d", ErrOutOfRange, off, n, size)
	}
	return nil
}

// AllZero reports whether p holds only zero bytes; writers use it to keep
// sparse regions sparse.
func AllZero(p []byte) bool {
	for len(p) >= 8 {
		if p[0]|p[1]|p[2]|p[3]|p[4]|p[5]|p[6]|p[7] != 0 {
			return false
		}
		p = p[8:]
	}
	for _, c := range p {
		if c != 0 {
			return false
		}
	}
	return true
}

// ReadParent fills q with the parent's bytes at pos, or zeros where there is
// no parent: what a differencing layer reads where it holds no data. A
// parent smaller than the child reads as zeros past its end.
func ReadParent(parent Image, q []byte, pos int64) error {
	if parent == nil {
		clear(q)
		return nil
	}
	n := int(max(0, min(int64(len(q)), parent.Size()-pos)))
	if n > 0 {
		if _, err := parent.ReadAt(q[:n], pos); err != nil {
			return fmt.Errorf("parent: %w", err)
		}
	}
	clear(q[n:])
	return nil
}
