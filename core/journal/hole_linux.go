//go:build linux

package journal

import (
	"errors"
	"syscall"
)

// punchHole deallocates [off, off+n) of f, which then reads as zeros; it
// needs no free space, unlike writing the zeros (fallocate(2),
// FALLOC_FL_PUNCH_HOLE with FALLOC_FL_KEEP_SIZE, linux/falloc.h).
func punchHole(f any, off, n int64) error {
	fd, ok := f.(interface{ Fd() uintptr })
	if !ok {
		return errors.ErrUnsupported
	}
	const flPunchHole, flKeepSize = 0x02, 0x01
	return syscall.Fallocate(int(fd.Fd()), flPunchHole|flKeepSize, off, n)
}
