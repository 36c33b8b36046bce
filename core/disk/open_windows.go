//go:build windows

package disk

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unsafe"

	"golang.org/x/sys/windows"
)

// openHost opens an image file with explicit sharing modes, where Go's
// os.OpenFile always shares reading and writing (docs/windows-macos.md):
//
//   - Read-only: share reading and writing, as Go does, so that inspecting
//     an image never gets in the way of the program that owns it.
//   - Read-write: share reading only. Windows then refuses the open when
//     another process already has the file open for writing (Hyper-V,
//     VMware Workstation, a backup agent) or has it open without sharing
//     writes, and, while pvinject writes, lets others open it for reading
//     only: their read handles (a Hyper-V parent disk, a viewer) stay valid,
//     and no second writer can interleave with ours.
//
// Raw disks and volumes (\\.\PhysicalDriveN, \\.\X:) must share both ways,
// since Windows itself keeps them open; they are read in whole sectors.
func openHost(path string, writable bool) (Backing, error) {
	dev := IsWindowsDevice(path)
	access := uint32(windows.GENERIC_READ)
	share := uint32(windows.FILE_SHARE_READ | windows.FILE_SHARE_WRITE)
	if writable {
		access |= windows.GENERIC_WRITE
		if !dev {
			share = windows.FILE_SHARE_READ
		}
	}
	name, err := windows.UTF16PtrFromString(extendedPath(path))
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	h, err := windows.CreateFile(name, access, share, nil, windows.OPEN_EXISTING, windows.FILE_ATTRIBUTE_NORMAL, 0)
	if err != nil {
		if errors.Is(err, windows.ERROR_SHARING_VIOLATION) || errors.Is(err, windows.ERROR_LOCK_VIOLATION) {
			return nil, ErrInUse // the callers name the file
		}
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(h), path)
	if !dev {
		return &osFile{f}, nil
	}
	size, err := deviceLength(h)
	if err != nil {
		f.Close()
		return nil, &os.PathError{Op: "open", Path: path, Err: fmt.Errorf("read the disk's size: %w", err)}
	}
	return &deviceFile{f: f, sectorIO: sectorIO{dev: f, sector: 4096}, size: size}, nil
}

// extendedPath gives a long absolute file path the \\?\ prefix that lifts
// the 260-character limit, as os.OpenFile does for its callers.
func extendedPath(path string) string {
	if IsWindowsDevice(path) || strings.HasPrefix(path, `\\?\`) {
		return path
	}
	abs, err := filepath.Abs(path)
	if err != nil || len(abs) < 248 {
		return path
	}
	if strings.HasPrefix(abs, `\\`) { // UNC: \\server\share\...
		return `\\?\UNC\` + abs[2:]
	}
	return `\\?\` + abs
}

// deviceLength asks the disk driver for a raw disk's or volume's size:
// GetFileSize and seeking to the end do not work on device handles.
func deviceLength(h windows.Handle) (int64, error) {
	const ioctlDiskGetLengthInfo = 0x7405c // IOCTL_DISK_GET_LENGTH_INFO
	var length int64
	var n uint32
	err := windows.DeviceIoControl(h, ioctlDiskGetLengthInfo, nil, 0,
		(*byte)(unsafe.Pointer(&length)), uint32(unsafe.Sizeof(length)), &n, nil)
	return length, err
}

// deviceFile is a raw disk or volume opened as a Backing.
type deviceFile struct {
	f *os.File
	sectorIO
	size int64
}

func (d *deviceFile) WriteAt(p []byte, off int64) (int, error) {
	n, err := d.sectorIO.WriteAt(p, off)
	if errors.Is(err, windows.ERROR_ACCESS_DENIED) || errors.Is(err, windows.ERROR_WRITE_PROTECT) {
		err = fmt.Errorf("%s: Windows refuses writes to a disk whose volumes are mounted; take the disk offline "+
			"in Disk Management, then try again: %w", d.f.Name(), err)
	}
	return n, err
}

func (d *deviceFile) Size() (int64, error) { return d.size, nil }
func (d *deviceFile) Truncate(int64) error {
	return fmt.Errorf("%s: a physical disk cannot change size", d.f.Name())
}
func (d *deviceFile) Sync() error  { return d.f.Sync() }
func (d *deviceFile) Close() error { return d.f.Close() }
func (d *deviceFile) Name() string { return d.f.Name() }
