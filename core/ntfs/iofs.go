package ntfs

import (
	"bytes"
	"io"
	"io/fs"
	"sort"
	"strings"
	"time"
)

// IOFS adapts the volume to io/fs for code that walks it with fs.WalkDir
// or fs.ReadFile. Names follow io/fs rules ("." is the root, '/' only);
// lookups stay case-insensitive. Files are read whole on Open.
func (v *Volume) IOFS() fs.FS { return ioFS{v} }

type ioFS struct{ v *Volume }

var (
	_ fs.ReadDirFS  = ioFS{}
	_ fs.ReadFileFS = ioFS{}
	_ fs.StatFS     = ioFS{}
)

func (x ioFS) check(op, name string) error {
	if !fs.ValidPath(name) || strings.ContainsRune(name, '\\') {
		return &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	return nil
}

func (x ioFS) Open(name string) (fs.File, error) {
	if err := x.check("open", name); err != nil {
		return nil, err
	}
	fi, err := x.v.Stat(name)
	if err != nil {
		return nil, err
	}
	if name == "." {
		fi.Name = "."
	}
	if fi.IsDir {
		ents, err := x.ReadDir(name)
		if err != nil {
			return nil, err
		}
		return &ioDir{info: fi, ents: ents}, nil
	}
	b, err := x.v.ReadFile(name)
	if err != nil {
		return nil, err
	}
	return &ioFile{info: fi, r: bytes.NewReader(b)}, nil
}

func (x ioFS) ReadFile(name string) ([]byte, error) {
	if err := x.check("readfile", name); err != nil {
		return nil, err
	}
	return x.v.ReadFile(name)
}

func (x ioFS) Stat(name string) (fs.FileInfo, error) {
	if err := x.check("stat", name); err != nil {
		return nil, err
	}
	fi, err := x.v.Stat(name)
	if name == "." {
		fi.Name = "."
	}
	return fileInfo{fi}, err
}

func (x ioFS) ReadDir(name string) ([]fs.DirEntry, error) {
	if err := x.check("readdir", name); err != nil {
		return nil, err
	}
	list, err := x.v.ReadDir(name)
	if err != nil {
		return nil, err
	}
	out := make([]fs.DirEntry, 0, len(list))
	for _, fi := range list {
		// io/fs names cannot hold a slash; NTFS names cannot either, but
		// skip anything odd rather than break walkers.
		if strings.ContainsRune(fi.Name, '/') {
			continue
		}
		out = append(out, fs.FileInfoToDirEntry(fileInfo{fi}))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out, nil
}

// fileInfo adapts FileInfo to fs.FileInfo.
type fileInfo struct{ fi FileInfo }

func (f fileInfo) Name() string       { return f.fi.Name }
func (f fileInfo) Size() int64        { return f.fi.Size }
func (f fileInfo) ModTime() time.Time { return f.fi.ModTime }
func (f fileInfo) IsDir() bool        { return f.fi.IsDir }
func (f fileInfo) Sys() any           { return f.fi }
func (f fileInfo) Mode() fs.FileMode {
	if f.fi.IsDir {
		return fs.ModeDir | 0o555
	}
	return 0o444
}

type ioFile struct {
	info FileInfo
	r    *bytes.Reader
}

func (f *ioFile) Stat() (fs.FileInfo, error) { return fileInfo{f.info}, nil }
func (f *ioFile) Read(b []byte) (int, error) { return f.r.Read(b) }
func (f *ioFile) Close() error               { return nil }

type ioDir struct {
	info FileInfo
	ents []fs.DirEntry
	pos  int
}

func (d *ioDir) Stat() (fs.FileInfo, error) { return fileInfo{d.info}, nil }
func (d *ioDir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.info.Name, Err: ErrIsDir}
}
func (d *ioDir) Close() error { return nil }

func (d *ioDir) ReadDir(n int) ([]fs.DirEntry, error) {
	rest := d.ents[d.pos:]
	if n <= 0 {
		d.pos = len(d.ents)
		return rest, nil
	}
	if len(rest) == 0 {
		return nil, io.EOF
	}
	n = min(n, len(rest))
	d.pos += n
	return rest[:n], nil
}
