//go:build !windows

package disk

import (
	"io/fs"
	"os"
	"syscall"
)

// openHost opens a host file or block device. Unix has no mandatory sharing
// modes; core/imagelock keeps two writers apart there.
//
// O_NONBLOCK makes the open of a FIFO return at once instead of waiting for
// a writer, so that the check on the opened file (not on a path that may
// have changed since) refuses it; reads of regular files and block devices
// ignore the flag. O_NOCTTY keeps a terminal from becoming ours.
func openHost(path string, writable bool) (Backing, error) {
	flag := os.O_RDONLY
	if writable {
		flag = os.O_RDWR
	}
	f, err := os.OpenFile(path, flag|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err == nil {
		err = CheckHostMode(st.Mode())
	}
	if err != nil {
		f.Close()
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	return &osFile{f}, nil
}
