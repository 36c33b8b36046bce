package bootcheck

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/diskfs/go-diskfs/backend"
	"github.com/diskfs/go-diskfs/filesystem/fat16"
	"github.com/diskfs/go-diskfs/filesystem/fat32"

	"github.com/pvinject/pvinject/core/disk"
	"github.com/pvinject/pvinject/core/partition"
)

// espBCD reads \EFI\Microsoft\Boot\BCD (and its logs) from a FAT EFI
// system partition with go-diskfs, read-only: on a UEFI guest the BCD store
// lives there, not on an NTFS volume.
func espBCD(im disk.Image, p partition.Partition, where string) (BCDStore, bool) {
	st := &roStorage{r: im, size: im.Size()}
	type reader interface {
		ReadFile(name string) ([]byte, error)
	}
	var fsys reader
	if f, err := fat32.Read(st, p.Size, p.Start, 512); err == nil {
		fsys = f
	} else if f, err := fat16.Read(st, p.Size, p.Start, 512); err == nil {
		fsys = f
	} else {
		return BCDStore{}, false
	}
	b, err := fsys.ReadFile("/EFI/Microsoft/Boot/BCD")
	if err != nil || len(b) == 0 || len(b) > 16<<20 {
		return BCDStore{}, false
	}
	out := BCDStore{Where: where, Data: b}
	for _, suf := range []string{".LOG1", ".LOG2", ".LOG"} {
		if l, err := fsys.ReadFile("/EFI/Microsoft/Boot/BCD" + suf); err == nil && len(l) > 0 {
			out.Logs = append(out.Logs, hiveLog(suf, l))
		}
	}
	return out, true
}

// roStorage is a read-only go-diskfs backend over the image: writes and
// raw device access are refused, so the check can never change the disk.
type roStorage struct {
	r    io.ReaderAt
	size int64
	pos  int64
}

var _ backend.Storage = (*roStorage)(nil)

var errReadOnly = errors.New("bootcheck: the image is read only")

func (s *roStorage) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off >= s.size {
		return 0, io.EOF
	}
	if int64(len(p)) > s.size-off {
		n, err := s.r.ReadAt(p[:s.size-off], off)
		if err == nil {
			err = io.EOF
		}
		return n, err
	}
	return s.r.ReadAt(p, off)
}

func (s *roStorage) Read(p []byte) (int, error) {
	n, err := s.ReadAt(p, s.pos)
	s.pos += int64(n)
	return n, err
}

func (s *roStorage) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		off += s.pos
	case io.SeekEnd:
		off += s.size
	}
	if off < 0 {
		return 0, errors.New("bootcheck: negative seek")
	}
	s.pos = off
	return off, nil
}

func (s *roStorage) Stat() (fs.FileInfo, error)              { return sizeInfo(s.size), nil }
func (s *roStorage) Close() error                            { return nil }
func (s *roStorage) Sys() (*os.File, error)                  { return nil, errReadOnly }
func (s *roStorage) Writable() (backend.WritableFile, error) { return nil, errReadOnly }
func (s *roStorage) Path() string                            { return "" }

type sizeInfo int64

func (i sizeInfo) Name() string       { return "disk" }
func (i sizeInfo) Size() int64        { return int64(i) }
func (i sizeInfo) Mode() fs.FileMode  { return 0o444 }
func (i sizeInfo) ModTime() time.Time { return time.Time{} }
func (i sizeInfo) IsDir() bool        { return false }
func (i sizeInfo) Sys() any           { return nil }
