package ntfs

import (
	"fmt"
	"io"
	"io/fs"
)

// File is random read access to one file's unnamed $DATA stream, for
// readers that need a few scattered pieces of a large file (registry hive
// cells) rather than the whole of it.
type File interface {
	io.ReaderAt
	// Size is the file's length in bytes.
	Size() int64
}

// OpenFile opens the file at p for random-access reading. Sparse holes and
// bytes past the initialized size read as zeros, as in ReadFile. Files
// whose stored bytes are not their content in plain form (NTFS-compressed,
// EFS-encrypted, WOF-compressed, deduplicated) are refused with
// ErrUnsupported: ReadFile decodes NTFS compression, so callers fall back to
// it, and nothing here decodes the others.
//
// The File reads through the Volume, so it must not outlive it, and a write
// to the file through the Volume afterwards is not seen by it.
func (v *Volume) OpenFile(p string) (File, error) {
	f, _, err := v.resolve(p)
	if err != nil {
		return nil, err
	}
	if f.base.Flags&rfDirectory != 0 {
		return nil, &PathError{Op: "open", Path: p, Err: ErrIsDir}
	}
	if f.first(atData, "") == nil {
		return &openFile{path: p, s: &stream{v: v}}, nil
	}
	if err := unreadable(f); err != nil {
		return nil, &PathError{Op: "open", Path: p, Err: err}
	}
	s, err := f.stream(atData, "")
	if err != nil {
		return nil, &PathError{Op: "open", Path: p, Err: err}
	}
	if s.compressed {
		return nil, &PathError{Op: "open", Path: p,
			Err: fmt.Errorf("MFT record %d is NTFS-compressed; read it whole with ReadFile: %w", f.base.Num, ErrUnsupported)}
	}
	return &openFile{path: p, s: s}, nil
}

type openFile struct {
	path string
	s    *stream
}

func (o *openFile) Size() int64 { return o.s.size }

// ReadAt follows io.ReaderAt: a read reaching past the end returns the
// bytes before it and io.EOF.
func (o *openFile) ReadAt(b []byte, off int64) (int, error) {
	if off < 0 {
		return 0, &PathError{Op: "read", Path: o.path, Err: fmt.Errorf("negative offset %d: %w", off, fs.ErrInvalid)}
	}
	if off >= o.s.size {
		if len(b) == 0 {
			return 0, nil
		}
		return 0, io.EOF
	}
	n := int(min(int64(len(b)), o.s.size-off))
	if err := o.s.readFull(b[:n], off); err != nil {
		return 0, &PathError{Op: "read", Path: o.path, Err: err}
	}
	if n < len(b) {
		return n, io.EOF
	}
	return n, nil
}
