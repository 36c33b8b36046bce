//go:build !windows

package disk

import "os"

// openHost opens a host file or block device. Unix has no mandatory sharing
// modes; core/imagelock keeps two writers apart there.
func openHost(path string, writable bool) (Backing, error) {
	flag := os.O_RDONLY
	if writable {
		flag = os.O_RDWR
	}
	f, err := os.OpenFile(path, flag, 0)
	if err != nil {
		return nil, err
	}
	return &osFile{f}, nil
}
