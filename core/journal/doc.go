// Package journal makes every change pvinject writes to a disk image
// undoable, byte for byte, even if the process dies half-way, and makes
// sure undoing it never makes things worse.
//
// It works at the host-file level, under every container format: Begin
// returns a disk.Opener that wraps another one. Before any byte of any host
// file is overwritten, or a file is truncated, the old bytes (and the file's
// original size) are appended to the journal file beside the image,
// "<image>.pvinject-journal", and the journal is synced; only then does the
// write reach the file. Files created through the Opener are recorded before
// they exist and deleted on rollback.
//
// The format (docs/JOURNAL.md) has a checksummed header that says how much
// of the journal was allocated and, once the run is sealed, how many records
// it holds and where they end; numbered, checksummed records; and a seal,
// appended by Seal at the run's commit point, with the SHA-256 of every
// piece the run wrote.
//
// Rollback reads and checks the whole journal before writing anything, and
// checks the files against the seal (or, for a run that never sealed, that
// they still exist and were not modified after the run stopped). A journal
// that fails its checks (*DamagedError) or files that changed since
// (*ChangedError) mean nothing is restored and the journal is kept. It
// applies records newest first, so the oldest copy of a byte, its original
// value, is what remains; it restores original sizes, deletes created
// files, never creates one, and removes the journal last, so an interrupted
// Rollback can simply be run again.
//
// Crash states: journal absent = nothing was written (or the run was
// accepted or rolled back); journal present = the image may be partly
// written and must be rolled back (or accepted) before anything else; Begin
// refuses to start over an existing journal.
package journal
