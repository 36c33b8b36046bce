//go:build unix

package hostfile

import (
	"os"
	"syscall"
)

// OpenNoWait opens name with flag (os.O_RDONLY, os.O_RDWR) without waiting:
// O_NONBLOCK makes the open of a FIFO return at once instead of waiting for
// a writer in the kernel, deaf to Ctrl+C, so that a check of the opened
// file can refuse it; reads and writes of regular files and block devices
// ignore the flag. O_NOCTTY keeps a terminal from becoming ours.
func OpenNoWait(name string, flag int) (*os.File, error) {
	return os.OpenFile(name, flag|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
}
