//go:build unix

package hostfile

import (
	"os"
	"syscall"
)

// openNoWait opens name read-only; O_NONBLOCK makes a FIFO's open return at
// once (regular files ignore the flag) and O_NOCTTY keeps a terminal from
// becoming ours.
func openNoWait(name string) (*os.File, error) {
	return os.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
}
