package guest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// FS is the read-only view of one volume that detection needs; core/ntfs
// volumes satisfy it. Names are slash-separated and relative to the volume
// root ("." is the root), like io/fs. Implementations SHOULD match names
// case-insensitively as NTFS does; detection also copes with case-sensitive
// ones by falling back to a directory listing.
type FS interface {
	ReadFile(name string) ([]byte, error)
	Stat(name string) (fs.FileInfo, error)
	ReadDir(name string) ([]fs.DirEntry, error)
}

// resolve finds dir/elem with NTFS's case-insensitive matching and returns
// its path with the case found on disk. It asks Stat first, so a
// case-insensitive FS answers without listing a directory (System32 has
// thousands of entries).
func resolve(v FS, dir, elem string) (string, fs.FileInfo, error) {
	p := join(dir, elem)
	if fi, err := v.Stat(p); err == nil {
		return p, fi, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", nil, err
	}
	ents, err := v.ReadDir(dirOrDot(dir))
	if err != nil {
		return "", nil, err
	}
	for _, e := range ents {
		if strings.EqualFold(e.Name(), elem) {
			p = join(dir, e.Name())
			fi, err := v.Stat(p)
			return p, fi, err
		}
	}
	return "", nil, fmt.Errorf("%s: %w", p, fs.ErrNotExist)
}

// resolvePath resolves every element of a slash-separated path below dir.
func resolvePath(v FS, dir, rel string) (string, fs.FileInfo, error) {
	var fi fs.FileInfo
	cur := dir
	for _, elem := range strings.Split(rel, "/") {
		var err error
		cur, fi, err = resolve(v, cur, elem)
		if err != nil {
			return "", nil, err
		}
	}
	return cur, fi, nil
}

func join(dir, elem string) string {
	if dir == "" || dir == "." {
		return elem
	}
	return dir + "/" + elem
}

func dirOrDot(dir string) string {
	if dir == "" {
		return "."
	}
	return dir
}

// DirFS is an FS over a directory tree of the host, for tests, tools and
// mounted volumes. Names match case-insensitively when the exact case is
// not found, as on NTFS.
type DirFS string

var _ FS = DirFS("")

func (d DirFS) path(name string) (string, error) {
	if !fs.ValidPath(name) {
		return "", &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	return filepath.Join(string(d), filepath.FromSlash(name)), nil
}

// ReadFile reads a whole file.
func (d DirFS) ReadFile(name string) ([]byte, error) {
	p, err := d.path(name)
	if err != nil {
		return nil, err
	}
	return os.ReadFile(p)
}

// Stat describes a file or directory.
func (d DirFS) Stat(name string) (fs.FileInfo, error) {
	p, err := d.path(name)
	if err != nil {
		return nil, err
	}
	return os.Stat(p)
}

// ReadDir lists a directory.
func (d DirFS) ReadDir(name string) ([]fs.DirEntry, error) {
	p, err := d.path(name)
	if err != nil {
		return nil, err
	}
	return os.ReadDir(p)
}
