//go:build windows

package journal

// syncDir does nothing on Windows: a folder opened for reading cannot be
// flushed there (FlushFileBuffers needs write access and fails with "Access
// denied"), and Windows documents no other way to flush a folder's entries.
// The journal file's name rests on the journal file's own flush, which on
// NTFS forces the metadata log holding its creation (docs/windows-macos.md).
func syncDir(string) error { return nil }
