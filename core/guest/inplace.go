package guest

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/pvinject/pvinject/core/hive"
	"github.com/pvinject/pvinject/core/ntfs"
)

// ReaderAtFS is an FS that can also give random access to a file, so a
// clean registry hive is read cell by cell where it lies instead of whole
// (a SOFTWARE hive is often 50 to 150 MiB; detection needs a few dozen
// keys of it). If the returned ReaderAt is an io.Closer, it is closed when
// the hive is.
type ReaderAtFS interface {
	FS
	OpenReaderAt(name string) (r io.ReaderAt, size int64, err error)
}

var (
	_ ReaderAtFS = DirFS("")
	_ ReaderAtFS = ntfsFSAdapter{}
)

// OpenReaderAt opens a host file for random access; the caller closes it.
func (d DirFS) OpenReaderAt(name string) (io.ReaderAt, int64, error) {
	p, err := d.path(name)
	if err != nil {
		return nil, 0, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	if fi.IsDir() {
		f.Close()
		return nil, 0, fmt.Errorf("%s: is a directory", name)
	}
	return f, fi.Size(), nil
}

// OpenReaderAt opens a file of the volume for random access, when the
// volume offers it (core/ntfs does).
func (a ntfsFSAdapter) OpenReaderAt(name string) (io.ReaderAt, int64, error) {
	o, ok := a.v.(interface {
		OpenFile(p string) (ntfs.File, error)
	})
	if !ok {
		return nil, 0, fmt.Errorf("%s: %w", name, errors.ErrUnsupported)
	}
	f, err := o.OpenFile(name)
	if err != nil {
		return nil, 0, err
	}
	return f, f.Size(), nil
}

// openInPlace opens a hive file lazily when the FS allows it and the hive
// is clean. It returns nil whenever it cannot (no random access, NTFS
// compression, a dirty hive that needs its logs replayed, a damaged base
// block): the caller then reads the hive whole, which replays logs and
// reports damage precisely.
func openInPlace(v FS, path, name string) Hive {
	rfs, ok := v.(ReaderAtFS)
	if !ok {
		return nil
	}
	ra, size, err := rfs.OpenReaderAt(path)
	if err != nil {
		return nil
	}
	closer, _ := ra.(io.Closer)
	if size > maxHive {
		closeQuietly(closer)
		return nil
	}
	l, err := hive.OpenLazy(name, ra, size)
	if err != nil {
		closeQuietly(closer)
		return nil
	}
	return lazyHive{keyReader{l}, l, closer}
}

func closeQuietly(c io.Closer) {
	if c != nil {
		_ = c.Close() // opened read-only: nothing to lose
	}
}

type lazyHive struct {
	keyReader
	l *hive.Lazy
	c io.Closer // the file under l, when it needs closing
}

func (h lazyHive) Close() error {
	err := h.l.Close()
	if h.c != nil {
		err = errors.Join(err, h.c.Close())
	}
	return err
}
