// Package hostfile names the kinds of host file system entries that
// pvinject refuses to read or write as files, in the words its messages use.
package hostfile

import "io/fs"

// Kind says what a non-regular entry is ("a FIFO (named pipe)"), for a
// message that refuses it. Opening a FIFO would block forever and a device
// would read without end, so the refusal must say which one the user gave.
func Kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a folder"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO (named pipe)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device node"
	case m&fs.ModeDevice != 0:
		return "a block device node"
	case m.IsRegular():
		return "a regular file"
	}
	return "not a regular file"
}

// NotImage says why an entry of mode m cannot hold a disk image ("it is a
// FIFO (named pipe), not a disk image file"), or "" when it can: only a
// regular file or a block device. A character device such as /dev/zero
// would read without end.
func NotImage(m fs.FileMode) string {
	if m.IsRegular() || m&fs.ModeDevice != 0 && m&fs.ModeCharDevice == 0 {
		return ""
	}
	return "it is " + Kind(m) + ", not a disk image file"
}
