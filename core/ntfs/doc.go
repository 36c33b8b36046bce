// Package ntfs reads and writes NTFS 3.1 volumes (Windows XP and later) held
// in any io.ReaderAt/io.WriterAt of known size, typically a partition view
// from core/disk.
//
// Covered: boot sector, MFT records with update sequence arrays, resident and
// non-resident attributes, mapping pairs (runlists), sparse runs, attribute
// lists (stage three of the "four stages of NTFS file growth"), $I30 filename
// indexes (B-tree root and allocation blocks, Windows upcase collation),
// $Bitmap and the $MFT bitmap, $MFTMirr for records 0-3, and the volume dirty
// flag. Writes replace a file's content (growing, shrinking, moving between
// resident and non-resident) and create files and directories.
//
// Reads also cover LZNT1-compressed files. Not supported: writing
// compressed or encrypted data (refused), deleting or renaming, hard links,
// reparse points, non-resident attribute lists (stage four, refused),
// extending a $MFT that itself has an attribute list (refused), $LogFile
// replay, NTFS before 3.1 (refused for writing).
//
// Every volume is hostile input: sizes, offsets and counts read from disk are
// bounded before use, and malformed structures return errors wrapping
// ErrCorrupt, never panics.
//
// Write order: the volume is marked dirty in $Volume (and $MFTMirr) before the
// first metadata write and clean again by Close, so a writer cut off midway
// leaves a volume Windows will chkdsk. Data clusters are written before the
// metadata that points at them. All bytes go through the WriterAt given to
// Open; the journal that makes a crash reversible sits beneath it.
//
// The parsers and encoders here are hand-written (go-ntfs is read-only and
// hides on-disk offsets); go-ntfs serves as an independent reader in tests.
package ntfs
