//go:build linux

package journal

import (
	"os"
	"syscall"
)

// preallocStep is how far the journal file grows at a time.
const preallocStep = 16 << 20

// preallocate extends f to size bytes of allocated zeros and syncs the new
// size, so later record writes inside it need only a data sync.
func preallocate(f *os.File, size int64) error {
	if err := syscall.Fallocate(int(f.Fd()), 0, 0, size); err != nil {
		if err := f.Truncate(size); err != nil { // filesystems without fallocate
			return err
		}
	}
	return f.Sync()
}

func datasync(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }
