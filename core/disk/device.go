package disk

import "runtime"

// IsWindowsDevice reports whether path names a Windows raw disk or volume
// (\\.\PhysicalDriveN, \\.\C:) rather than a file: such names have no
// folder, no file identity that os.Stat can always read, and take only
// whole-sector I/O (open_windows.go). Off Windows it is an ordinary name.
func IsWindowsDevice(path string) bool {
	return runtime.GOOS == "windows" && len(path) > 4 && (path[:4] == `\\.\` || path[:4] == `//./`)
}
