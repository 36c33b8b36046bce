//go:build linux

package raw

import (
	"errors"
	"syscall"

	"github.com/pvinject/pvinject/core/disk"
)

const (
	seekData = 3 // SEEK_DATA
	seekHole = 4 // SEEK_HOLE
)

// seekMap walks data and holes with lseek. ENXIO from SEEK_DATA means no data
// until the end of the file. Other errors (block devices, filesystems without
// support) make the caller fall back to "all allocated".
func seekMap(fd uintptr, off, length int64) ([]disk.Extent, error) {
	// Only regular files have holes; a block device must never be reported
	// as one big hole (a copy would then skip the whole disk).
	var st syscall.Stat_t
	if err := syscall.Fstat(int(fd), &st); err != nil || st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return nil, errNoMap
	}
	end := off + length
	var ext []disk.Extent
	pos := off
	for pos < end {
		data, err := syscall.Seek(int(fd), pos, seekData)
		if errors.Is(err, syscall.ENXIO) {
			return appendExtent(ext, pos, end-pos, false), nil
		}
		if err != nil {
			return nil, errNoMap
		}
		if data < pos {
			return nil, errNoMap
		}
		data = min(data, end)
		ext = appendExtent(ext, pos, data-pos, false)
		if data >= end {
			break
		}
		hole, err := syscall.Seek(int(fd), data, seekHole)
		if err != nil || hole <= data {
			return nil, errNoMap
		}
		hole = min(hole, end)
		ext = appendExtent(ext, data, hole-data, true)
		pos = hole
	}
	return ext, nil
}
