// Package hive reads and edits Windows registry hive files (REGF, hive
// format versions 1.2 to 1.6: Windows NT 4.0 to Windows 11 / Server 2025).
//
// Hive bytes come from the NTFS layer and go back to it: Open takes a
// private copy, edits go through one of two engines, and Commit returns the
// new bytes. The engines: libhivex, through the
// github.com/gabriel-samfira/go-hivex binding (hivex_engine.go; it only
// opens paths, so it gets a temporary file), the default where the build
// has it (Linux with cgo); and a pure-Go engine (goengine*.go, working on
// the bytes in memory), the only one elsewhere (Windows, macOS) and
// selectable with PVINJECT_HIVE_ENGINE=go. EngineName says which runs. The
// format facts the pure-Go engine relies on are in docs/hive-format.md. Keys are addressed by
// backslash paths relative to the hive root, looked up case-insensitively
// as Windows does:
//
//	h, err := hive.Open("SYSTEM", data, hive.LogFile{Name: "SYSTEM.LOG1", Data: log1})
//	...
//	defer h.Close()
//	cur, err := h.Get(`Select`, "Current")        // Value{Type: RegDWord, ...}
//	n, err := cur.Uint32()
//	err = h.SetValue(`ControlSet001\Services\viostor`, "Start", hive.DWord(0))
//	out, err := h.Commit()                          // verified new hive bytes
//
// # What the wrapper guarantees
//
//   - Setting or deleting one value keeps every other value of the key
//     (libhivex's set call replaces all of them); deleting a key's last
//     value leaves a key with no values.
//   - Value data is never reinterpreted: REG_SZ, REG_EXPAND_SZ,
//     REG_MULTI_SZ, REG_DWORD, REG_DWORD_BIG_ENDIAN, REG_QWORD, REG_BINARY
//     and REG_NONE are encoded and decoded here in pure Go (see Value).
//   - No C memory escapes hivex_engine.go, no caller input reaches a
//     go-hivex panic, and go-hivex's errors are checked against results
//     (a 0 handle is "absent"; an edit reported failed is looked up).
//   - Dirty hives (header sequence numbers differ, or a bad checksum) have
//     their transaction logs replayed in pure Go before libhivex sees them,
//     both the old format (Windows XP to 8: base block + "DIRT" dirty
//     vector + 512-byte pages) and the new one (Windows 8.1 and later:
//     "HvLE" log entries checked with Marvin32). A dirty hive without
//     usable logs opens read-only with a warning Finding, and every write
//     returns a *safety.Refusal: committing it through libhivex would mark
//     it clean and silently discard the logged changes. Replay follows
//     Windows: entries are applied in sequence order from the primary's
//     secondary sequence number, across both logs, stopping at a gap; a
//     "partial reconcile" (logs starting later, both present and intact)
//     is accepted; a missing or damaged log that would be needed is not.
//     The recovered header gets equal sequence numbers, the final hive bins
//     size and a fresh checksum; the file keeps at least its old length.
//     Checked byte for byte against Windows' own recovery of the same files
//     (see TestRealDirtyHivesYarp).
//   - Every Commit is checked by a small pure-Go reader that shares no code
//     with libhivex: signature, checksum, equal sequence numbers, hive
//     bins and cells, the whole key tree, and each value and key written.
//     A failed edit or commit is sticky: the Hive refuses further writes.
//
// Not supported: Windows 9x registries (CREG; ErrWin9x), NT 3.1 hives
// (version 1.1). With libhivex only: writing values over 16344 bytes, or
// rewriting a key that holds such a value (libhivex cannot write big-data
// records; ErrTooLarge); the pure-Go engine writes them (up to 64 MiB)
// and has none of the go-hivex limits below. go-hivex cannot pass
// zero-length data (it panics), so setting a value
// with empty data, and deleting a value from a key that also holds a
// zero-length value, are refused with errors matching
// errors.ErrUnsupported that name the key and value; nothing is changed
// and the Hive stays usable. (Setting a value beside zero-length ones
// works: libhivex copies those itself. An empty REG_SZ or REG_MULTI_SZ is
// not empty data: it is stored as NULs.) Key and value names must be valid
// UTF-8 without NUL (ErrType): go-hivex truncates at a NUL, and libhivex
// crashes on names it cannot encode.
// The transaction log format is the public one documented in Maxim
// Suhanov's "Windows registry file format specification".
//
// # C memory
//
// go-hivex never frees what libhivex returns, so this package leaks C
// memory for the life of the process, bounded by what it asks for:
//
//   - per value set: a copy of its name (32 bytes for a short one); in a
//     key that existed before this session, also the key's value-handle
//     array (~8-16 bytes a value), and the stored name when replacing;
//   - per Get: a copy of the value's data (at least 32 bytes);
//   - per Values: the handle array, each value's data, and each name not
//     read since the key was last edited;
//   - per Subkeys (and per non-ASCII key lookup): the subkey-handle array,
//     ~16 bytes a subkey; names are cached for the Hive's life;
//   - key lookups by ASCII name, key creation, Commit and Close: nothing;
//     key deletion: at most the key's name.
//
// A typical session (open the 11 MiB Windows 10 SYSTEM hive, set 50
// values in five new keys, commit, close) leaks 1600 bytes; the bound is
// 4 KiB (TestCLeakBound, measured with glibc's mallinfo2 and its
// per-thread cache off). Long-lived processes that open many hives should
// expect that much per session.
//
// # Security
//
// Every hive and log is hostile input. The pure-Go reader runs over the
// whole hive at Open (so libhivex only ever sees hives whose structure
// checked out): offsets are range-checked, counts are bounded by the bytes
// that hold them, the key tree is walked once with a visited set and a
// depth bound, so cycles fail with ErrCycle instead of looping.
//
// Building with libhivex needs cgo and libhivex (apt-get install
// libhivex-dev); without cgo, or on another OS than Linux, the pure-Go
// engine is built alone, and asking for libhivex there
// (PVINJECT_HIVE_ENGINE=hivex) gives ErrNoLibhivex with install hints.
package hive
