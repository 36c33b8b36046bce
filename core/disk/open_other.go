//go:build !windows

package disk

import (
	"errors"
	"io/fs"
	"os"

	"github.com/pvinject/pvinject/internal/hostfile"
)

// openHost opens a host file or block device. Unix has no mandatory sharing
// modes; core/imagelock keeps two writers apart there.
// The check is made on the opened file, not on a path that may have
// changed since, and the open does not wait on a FIFO.
func openHost(path string, writable bool) (Backing, error) {
	flag := os.O_RDONLY
	if writable {
		flag = os.O_RDWR
	}
	f, err := hostfile.OpenNoWait(path, flag)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if why := ""; err == nil {
		if why = hostfile.NotImage(st.Mode()); why != "" {
			err = errors.New(why)
		}
	}
	if err != nil {
		f.Close()
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	return &osFile{f}, nil
}
