package drivers

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sync"

	"github.com/diskfs/go-diskfs/backend/file"
	"github.com/diskfs/go-diskfs/filesystem/iso9660"
)

// openISO reads an ISO9660 image (Rock Ridge or Joliet names when present)
// through go-diskfs. Its parser is third-party code fed a hostile image, so
// every call into it goes through safeFS, which turns a panic into an error.
func openISO(p string) (_ fs.FS, _ io.Closer, err error) {
	b, err := file.OpenFromPath(p, true)
	if err != nil {
		return nil, nil, fmt.Errorf("drivers: open ISO %s: %w", p, err)
	}
	defer func() {
		if r := recover(); r != nil {
			b.Close()
			err = fmt.Errorf("drivers: ISO %s: reader failed: %v", p, r)
		}
	}()
	st, err := b.Stat()
	if err != nil {
		b.Close()
		return nil, nil, fmt.Errorf("drivers: ISO %s: %w", p, err)
	}
	if err := precheckISO(b, st.Size()); err != nil {
		b.Close()
		return nil, nil, fmt.Errorf("drivers: ISO %s: %w", p, err)
	}
	isofs, err := iso9660.Read(b, st.Size(), 0, 2048)
	if err != nil {
		b.Close()
		return nil, nil, fmt.Errorf("drivers: ISO %s: %w", p, err)
	}
	return &safeFS{fsys: isofs, name: p, dirs: map[string][]fs.DirEntry{}}, b, nil
}

// safeFS guards an fs.FS whose implementation may panic on bad input.
type safeFS struct {
	fsys interface {
		fs.FS
		fs.ReadDirFS
		fs.StatFS
	}
	name string

	// go-diskfs re-reads and re-parses a directory (Rock Ridge included)
	// on every lookup; listings are cached since the image is read-only.
	mu   sync.Mutex
	dirs map[string][]fs.DirEntry
}

func (s *safeFS) guard(op, p string, err *error) {
	if r := recover(); r != nil {
		*err = &fs.PathError{Op: op, Path: p, Err: fmt.Errorf("ISO %s: reader failed: %v", s.name, r)}
	}
}

func (s *safeFS) Open(p string) (f fs.File, err error) {
	defer s.guard("open", p, &err)
	f, err = s.fsys.Open(p)
	if err != nil {
		return nil, err
	}
	return safeFile{f, s, p}, nil
}

func (s *safeFS) ReadDir(p string) (d []fs.DirEntry, err error) {
	s.mu.Lock()
	cached, ok := s.dirs[p]
	s.mu.Unlock()
	if ok {
		return cached, nil
	}
	defer s.guard("readdir", p, &err)
	d, err = s.fsys.ReadDir(p)
	if err == nil {
		s.mu.Lock()
		s.dirs[p] = d
		s.mu.Unlock()
	}
	return d, err
}

func (s *safeFS) Stat(p string) (fi fs.FileInfo, err error) {
	if p == "." || !fs.ValidPath(p) {
		defer s.guard("stat", p, &err)
		return s.fsys.Stat(p)
	}
	ents, err := s.ReadDir(path.Dir(p))
	if err != nil {
		return nil, &fs.PathError{Op: "stat", Path: p, Err: err}
	}
	base := path.Base(p)
	for _, e := range ents {
		if e.Name() == base {
			defer s.guard("stat", p, &err)
			return e.Info()
		}
	}
	return nil, &fs.PathError{Op: "stat", Path: p, Err: fs.ErrNotExist}
}

type safeFile struct {
	f    fs.File
	s    *safeFS
	path string
}

func (f safeFile) Read(b []byte) (n int, err error) {
	defer f.s.guard("read", f.path, &err)
	return f.f.Read(b)
}

func (f safeFile) Stat() (fi fs.FileInfo, err error) {
	defer f.s.guard("stat", f.path, &err)
	return f.f.Stat()
}

func (f safeFile) Close() (err error) {
	defer f.s.guard("close", f.path, &err)
	return f.f.Close()
}

// ErrBadISO marks an ISO image whose volume descriptors are out of range.
var ErrBadISO = errors.New("drivers: malformed ISO9660 image")

// precheckISO bounds the sizes go-diskfs allocates from the volume
// descriptors (path tables, root directory) by the image size before its
// reader trusts them: a hostile descriptor could otherwise ask for 4 GiB.
// Deeper directory extents remain go-diskfs's to check (see package doc).
func precheckISO(r io.ReaderAt, size int64) error {
	const sector = 2048
	var vd [sector]byte
	for i := int64(16); i < 16+64; i++ {
		if _, err := r.ReadAt(vd[:], i*sector); err != nil {
			return fmt.Errorf("%w: volume descriptor %d: %v", ErrBadISO, i, err)
		}
		if string(vd[1:6]) != "CD001" {
			return fmt.Errorf("%w: volume descriptor %d lacks CD001", ErrBadISO, i)
		}
		switch vd[0] {
		case 255:
			return nil
		case 1, 2:
			if bs := binary.LittleEndian.Uint16(vd[128:]); bs != sector {
				return fmt.Errorf("%w: logical block size %d (only 2048 is read)", ErrBadISO, bs)
			}
			pt := int64(binary.LittleEndian.Uint32(vd[132:]))
			ptLoc := int64(binary.LittleEndian.Uint32(vd[140:])) * sector
			rootLoc := int64(binary.LittleEndian.Uint32(vd[156+2:])) * sector
			rootLen := int64(binary.LittleEndian.Uint32(vd[156+10:]))
			if pt > size || ptLoc+pt > size || rootLen > size || rootLoc+rootLen > size {
				return fmt.Errorf("%w: descriptor %d points past the %d-byte image", ErrBadISO, i, size)
			}
		}
	}
	return fmt.Errorf("%w: no volume descriptor terminator", ErrBadISO)
}
