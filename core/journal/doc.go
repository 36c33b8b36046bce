// Package journal makes every change pvinject writes to a disk image
// undoable, byte for byte, even if the process dies half-way.
//
// It works at the host-file level, under every container format: Begin
// returns a disk.Opener that wraps another one. Before any byte of any host
// file is overwritten, or a file is truncated, the old bytes (and the file's
// original size) are appended to the journal file beside the image,
// "<image>.pvinject-journal", and the journal is fsynced; only then does the
// write reach the file. Files created through the Opener are recorded before
// they exist and deleted on rollback.
//
// Record format (all integers little-endian), after the 8-byte magic
// "PVJRNL1\n":
//
//	u32 payload length | u32 CRC-32C of payload | payload
//	payload = u8 kind, then
//	  kind 1 (file):   u32 id, i64 original size, path
//	  kind 2 (data):   u32 id, i64 offset, old bytes
//	  kind 3 (create): u32 id, path
//
// A crash while appending leaves a torn last record; its length or checksum
// gives it away and Rollback ignores it (the write it announced never
// started). Rollback applies records newest first, so the oldest copy of a
// byte, its original value, is what remains; it restores original sizes,
// deletes created files, and removes the journal last, so an interrupted
// Rollback can simply be run again.
//
// Crash states: journal absent = nothing was written; journal present =
// the image may be partly written and must be rolled back (or the run
// committed) before anything else; Begin refuses to start over an existing
// journal.
package journal
