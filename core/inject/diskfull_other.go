//go:build !windows

package inject

import "syscall"

// diskFullErrnos are the errors of a disk with no space left.
var diskFullErrnos = []syscall.Errno{syscall.ENOSPC}
