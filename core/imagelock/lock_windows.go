//go:build windows

package imagelock

import (
	"errors"
	"os"

	"golang.org/x/sys/windows"
)

var errWouldBlock = errors.New("lock held")

func openForLock(path string) (*os.File, error) {
	return os.Open(path)
}

func identity(f *os.File) (ID, int, error) {
	var fi windows.ByHandleFileInformation
	if err := windows.GetFileInformationByHandle(windows.Handle(f.Fd()), &fi); err != nil {
		return ID{}, 0, err
	}
	return ID{Dev: uint64(fi.VolumeSerialNumber), Ino: uint64(fi.FileIndexHigh)<<32 | uint64(fi.FileIndexLow)},
		int(fi.NumberOfLinks), nil
}

// lockFile locks one byte far past any image's end with LockFileEx,
// without waiting. Windows byte-range locks are mandatory: locking the
// image's own bytes would stop pvinject's other handle from writing them,
// while a byte no image reaches is a pure token that every pvinject run
// agrees on.
func lockFile(f *os.File, mode Mode) error {
	flags := uint32(windows.LOCKFILE_FAIL_IMMEDIATELY)
	if mode == Exclusive {
		flags |= windows.LOCKFILE_EXCLUSIVE_LOCK
	}
	ol := &windows.Overlapped{Offset: 0xFFFFFFFE, OffsetHigh: 0x7FFFFFFF}
	err := windows.LockFileEx(windows.Handle(f.Fd()), flags, 0, 1, 0, ol)
	if errors.Is(err, windows.ERROR_LOCK_VIOLATION) || errors.Is(err, windows.ERROR_SHARING_VIOLATION) {
		return errWouldBlock
	}
	return err
}
