package guest

import (
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/pvinject/pvinject/core/hive"
	"github.com/pvinject/pvinject/core/ntfs"
	"github.com/pvinject/pvinject/core/safety"
)

// LogFile is a hive transaction log handed to a HiveOpener.
type LogFile = hive.LogFile

// OpenHive is the HiveOpener over core/hive, read-only: dirty hives have
// their logs replayed, and core/hive's findings about them (e.g. a dirty
// hive without logs) are added to the install's warnings. Inspection never
// writes.
func OpenHive(name string, data []byte, logs ...LogFile) (Hive, error) {
	h, err := hive.OpenReadOnly(name, data, logs...)
	if err != nil {
		return nil, err
	}
	return coreHive{keyReader{h}, h}, nil
}

type coreHive struct {
	keyReader
	h *hive.Hive
}

func notExist(err error) error {
	if errors.Is(err, hive.ErrNotFound) && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w (%w)", err, fs.ErrNotExist)
	}
	return err
}

// keyReader gives either of core/hive's readers (the whole-file Hive and
// the in-place Lazy) the Hive interface's methods.
type keyReader struct {
	r interface {
		Subkeys(path string) ([]string, error)
		Values(path string) ([]hive.NamedValue, error)
	}
}

func (k keyReader) Subkeys(path string) ([]string, error) {
	s, err := k.r.Subkeys(path)
	return s, notExist(err)
}

func (k keyReader) Values(path string) ([]Value, error) {
	vals, err := k.r.Values(path)
	if err != nil {
		return nil, notExist(err)
	}
	out := make([]Value, len(vals))
	for i, v := range vals {
		out[i] = Value{Name: v.Name, Type: uint32(v.Type), Data: v.Data}
	}
	return out, nil
}

func (c coreHive) Findings() []safety.Finding { return c.h.Findings() }
func (c coreHive) Close() error               { return c.h.Close() }

// NTFSVolume is what FromNTFS needs of a core/ntfs volume.
type NTFSVolume interface {
	ReadFile(p string) ([]byte, error)
	Stat(p string) (ntfs.FileInfo, error)
	ReadDir(p string) ([]ntfs.FileInfo, error)
}

// FromNTFS makes a core/ntfs volume an FS.
func FromNTFS(v NTFSVolume) FS { return ntfsFSAdapter{v} }

type ntfsFSAdapter struct{ v NTFSVolume }

func (a ntfsFSAdapter) ReadFile(name string) ([]byte, error) { return a.v.ReadFile(name) }

func (a ntfsFSAdapter) Stat(name string) (fs.FileInfo, error) {
	fi, err := a.v.Stat(name)
	if err != nil {
		return nil, err
	}
	return ntfsFileInfo{fi}, nil
}

func (a ntfsFSAdapter) ReadDir(name string) ([]fs.DirEntry, error) {
	fis, err := a.v.ReadDir(name)
	if err != nil {
		return nil, err
	}
	out := make([]fs.DirEntry, 0, len(fis))
	for _, fi := range fis {
		out = append(out, fs.FileInfoToDirEntry(ntfsFileInfo{fi}))
	}
	return out, nil
}

type ntfsFileInfo struct{ fi ntfs.FileInfo }

func (i ntfsFileInfo) Name() string       { return i.fi.Name }
func (i ntfsFileInfo) Size() int64        { return i.fi.Size }
func (i ntfsFileInfo) ModTime() time.Time { return i.fi.ModTime }
func (i ntfsFileInfo) IsDir() bool        { return i.fi.IsDir }
func (i ntfsFileInfo) Sys() any           { return i.fi }
func (i ntfsFileInfo) Mode() fs.FileMode {
	if i.fi.IsDir {
		return fs.ModeDir | 0o555
	}
	return 0o444
}
