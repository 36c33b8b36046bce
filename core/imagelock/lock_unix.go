//go:build unix

package imagelock

import (
	"errors"
	"os"
	"syscall"

	"github.com/pvinject/pvinject/internal/hostfile"
)

var errWouldBlock = syscall.EWOULDBLOCK

// openForLock opens read-only and non-blocking: a FIFO swapped in after the
// mode check must not hang the open.
func openForLock(path string) (*os.File, error) {
	return hostfile.OpenNoWait(path, os.O_RDONLY)
}

func identity(f *os.File) (ID, int, error) {
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		return ID{}, 0, err
	}
	return ID{Dev: uint64(st.Dev), Ino: uint64(st.Ino)}, int(st.Nlink), nil
}

// lockFile takes a flock(2) lock without waiting. flock locks belong to the
// open file description, so two opens in one process exclude each other too
// (the wizard and a command run in the same test binary).
func lockFile(f *os.File, mode Mode) error {
	how := syscall.LOCK_EX
	if mode == Shared {
		how = syscall.LOCK_SH
	}
	for {
		err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if errors.Is(err, syscall.EAGAIN) {
			return errWouldBlock
		}
		return err
	}
}
