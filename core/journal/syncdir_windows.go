//go:build windows

package journal

import (
	"fmt"
	"os"
)

// syncDir does nothing on Windows: a folder opened for reading cannot be
// flushed there (FlushFileBuffers needs write access and fails with "Access
// denied"), and Windows documents no other way to flush a folder's entries.
// The journal file's name rests on the journal file's own flush, which on
// NTFS forces the metadata log holding its creation (docs/windows-macos.md).
func syncDir(string) error { return nil }

// releaseTemp closes the handle opened under the temporary name before that
// name is removed: Windows refuses to delete a file that is open without
// delete sharing (Go opens without it), which would leave the .new name
// beside every image. The journal is then reopened under its own name.
func releaseTemp(f *os.File, tmp, jp string) (*os.File, error) {
	if err := f.Close(); err != nil {
		os.Remove(jp)
		return nil, fmt.Errorf("journal: close %s: %w", tmp, err)
	}
	os.Remove(tmp)
	g, err := os.OpenFile(jp, os.O_RDWR, 0)
	if err != nil {
		os.Remove(jp)
		return nil, fmt.Errorf("journal: reopen %s: %w", jp, err)
	}
	return g, nil
}
