//go:build !unix

package hostfile

import "os"

// openNoWait opens name read-only. Outside Unix a named pipe has no path in
// the file system a user would give, so a plain open cannot wait on one.
func openNoWait(name string) (*os.File, error) { return os.Open(name) }
