//go:build windows

package journal

// syncDir does nothing on Windows: a folder opened for reading cannot be
// flushed there (FlushFileBuffers needs write access and fails with "Access
// denied"), and NTFS logs every change to a folder's entries in its own
// metadata journal before the creating call returns, so the journal file's
// name is as durable as the file system (docs/windows-macos.md).
func syncDir(string) error { return nil }
