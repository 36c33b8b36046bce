package partition

import (
	"errors"
	"io"
	"io/fs"
	"time"

	"github.com/diskfs/go-diskfs/backend"
)

// readerFile adapts an io.ReaderAt of known size to go-diskfs's read-only
// backend.File. go-diskfs only calls ReadAt and Seek(0, io.SeekEnd) when
// reading tables; the rest exists to satisfy the interface.
type readerFile struct {
	r    io.ReaderAt
	size int64
	pos  int64
}

var _ backend.File = (*readerFile)(nil)

func (f *readerFile) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off > f.size || int64(len(p)) > f.size-off {
		return 0, io.ErrUnexpectedEOF
	}
	return f.r.ReadAt(p, off)
}

func (f *readerFile) Read(p []byte) (int, error) {
	if f.pos >= f.size {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), f.size-f.pos))
	n, err := f.r.ReadAt(p[:n], f.pos)
	f.pos += int64(n)
	return n, err
}

func (f *readerFile) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		off += f.pos
	case io.SeekEnd:
		off += f.size
	default:
		return 0, errors.New("partition: bad whence")
	}
	if off < 0 {
		return 0, errors.New("partition: negative seek")
	}
	f.pos = off
	return off, nil
}

func (f *readerFile) Stat() (fs.FileInfo, error) { return fileInfo{f.size}, nil }
func (f *readerFile) Close() error               { return nil }

type fileInfo struct{ size int64 }

func (i fileInfo) Name() string       { return "disk" }
func (i fileInfo) Size() int64        { return i.size }
func (i fileInfo) Mode() fs.FileMode  { return 0o444 }
func (i fileInfo) ModTime() time.Time { return time.Time{} }
func (i fileInfo) IsDir() bool        { return false }
func (i fileInfo) Sys() any           { return nil }
