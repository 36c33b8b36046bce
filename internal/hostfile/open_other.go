//go:build !unix

package hostfile

import "os"

// OpenNoWait opens name with flag. Outside Unix a named pipe has no path in
// the file system a user would give, so a plain open cannot wait on one.
func OpenNoWait(name string, flag int) (*os.File, error) { return os.OpenFile(name, flag, 0) }
