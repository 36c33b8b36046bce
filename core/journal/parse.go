package journal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// DamagedError: the journal fails its own checks, so what it would restore
// cannot be trusted. Nothing was restored and the journal was kept.
type DamagedError struct {
	Image   string // set by Rollback
	Journal string
	Reason  string
}

func (e *DamagedError) Error() string {
	return fmt.Sprintf("the rollback journal %s is damaged (%s), so what it would restore cannot be trusted: nothing was restored and the journal was kept. "+
		"What you can do: restore the image from a backup taken before the injection; or, if the injection had finished and you keep the image as it is, make the injection final", e.Journal, e.Reason)
}

// entry is a parsed record whose old bytes stay in the journal file.
type entry struct {
	record
	dataAt int64 // offset of the old bytes in the journal
	dataN  int64
}

// journalFile is a journal read and checked, before anything is restored.
type journalFile struct {
	path    string
	hdr     header
	entries []entry    // file, data and create records in journal order
	seal    []sealFile // nil: the run did not finish (crashed or still running)
	guest   [][2]int64 // the seal's guest ranges
	sealed  bool
	paths   map[uint32]string
	created map[uint32]bool
	orig    map[uint32]int64 // original size of each pre-existing file
	mtime   time.Time
}

func damaged(path, format string, args ...any) error {
	return &DamagedError{Journal: path, Reason: fmt.Sprintf(format, args...)}
}

// readJournal reads and checks the whole journal. It keeps only the
// position of old bytes, so a journal larger than memory can be rolled back.
//
// The rules (docs/JOURNAL.md): the header must pass its checksum; the file
// must be at least as long as the header says was allocated and synced (so
// a cut-short journal is caught); records must be numbered 0, 1, 2, ...
// without a gap. A sealed journal must hold exactly the records and bytes
// its header says. An unsealed journal may end in one bad record (an append
// torn by a crash: the write it announced never started), but only if no
// valid record follows it anywhere in the file; a valid record after a bad
// one means damage, never a torn tail.
func readJournal(f *os.File, path string) (*journalFile, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("journal: %s: %w", path, err)
	}
	return parseJournal(f, st.Size(), st.ModTime(), path)
}

// parseJournal is readJournal on any reader (the fuzz target's).
func parseJournal(f io.ReaderAt, size int64, mtime time.Time, path string) (*journalFile, error) {
	hb := make([]byte, min(size, headerLen))
	if _, err := f.ReadAt(hb, 0); err != nil {
		return nil, fmt.Errorf("journal: read %s: %w", path, err)
	}
	hdr, err := parseHeader(hb)
	if err != nil {
		return nil, damaged(path, "%v", err)
	}
	j := &journalFile{path: path, hdr: hdr, sealed: hdr.flags&flagSealed != 0, paths: map[uint32]string{},
		created: map[uint32]bool{}, orig: map[uint32]int64{}, mtime: mtime}
	limit := size
	if j.sealed {
		if size < hdr.end {
			return nil, damaged(path, "it was cut short: it is %d bytes long, its header says the finished journal is %d", size, hdr.end)
		}
		limit = hdr.end
	} else if size < hdr.alloc {
		return nil, damaged(path, "it was cut short: it is %d bytes long, its header says %d were written", size, hdr.alloc)
	}
	var seq uint32
	pos := int64(headerSize)
	bad := int64(-1)
	var buf []byte
	for pos+8 <= limit {
		var rh [8]byte
		if _, err := f.ReadAt(rh[:], pos); err != nil {
			return nil, fmt.Errorf("journal: read %s: %w", path, err)
		}
		n, err := recordSize(rh[:], limit-pos)
		if err != nil {
			bad = pos
			break
		}
		if int64(cap(buf)) < n {
			buf = make([]byte, n)
		}
		b := buf[:n]
		if _, err := f.ReadAt(b, pos); err != nil {
			return nil, fmt.Errorf("journal: read %s: %w", path, err)
		}
		r, err := parseRecord(b)
		if errors.Is(err, errBad) {
			bad = pos
			break
		}
		if err != nil {
			return nil, damaged(path, "record %d at byte %d: %v", seq, pos, err)
		}
		if r.seq != seq {
			return nil, damaged(path, "the record at byte %d is number %d where number %d belongs", pos, r.seq, seq)
		}
		seq++
		if r.kind == kindEnd {
			pos += n
			continue
		}
		if r.kind == kindSeal {
			j.seal, j.guest = r.seal, r.guest
			if j.seal == nil {
				j.seal = []sealFile{}
			}
			pos += n
			break
		}
		e := entry{record: r}
		if r.kind == kindData {
			e.dataAt = pos + 8 + dataHead
			e.dataN = int64(len(r.data))
			e.data = nil
		}
		if err := j.add(e); err != nil {
			return nil, damaged(path, "record %d at byte %d: %v", r.seq, pos, err)
		}
		pos += n
	}
	switch {
	case j.sealed && (j.seal == nil || bad >= 0):
		return nil, damaged(path, "record %d at byte %d is unreadable, but the journal says it finished with %d records", seq, pos, hdr.count)
	case j.sealed && (pos != hdr.end || int64(seq) != hdr.count):
		return nil, damaged(path, "it holds %d records ending at byte %d, its header says %d ending at byte %d", seq, pos, hdr.count, hdr.end)
	case !j.sealed && (bad >= 0 || j.seal != nil):
		// A crash between appending the seal and marking the header leaves
		// a seal in an unsealed journal: valid, and nothing may follow it.
		from := pos
		if bad >= 0 {
			from = bad + 8
		}
		if at, n, ok := validAfter(f, from, limit, seq); ok {
			if j.seal != nil {
				return nil, damaged(path, "a valid record (number %d, at byte %d) follows the end of the finished journal", n, at)
			}
			return nil, damaged(path, "record %d at byte %d is unreadable, but a valid record (number %d, at byte %d) follows it", seq, bad, n, at)
		}
	}
	if j.seal != nil {
		j.sealed = true
		if err := j.checkSeal(); err != nil {
			return nil, damaged(path, "%v", err)
		}
	}
	return j, nil
}

// add checks one record against the ones before it.
func (j *journalFile) add(e entry) error {
	switch e.kind {
	case kindFile, kindCreate:
		if _, dup := j.paths[e.id]; dup {
			return fmt.Errorf("names file %d twice", e.id)
		}
		j.paths[e.id] = e.path
		if e.kind == kindCreate {
			j.created[e.id] = true
		} else {
			j.orig[e.id] = e.size
		}
	case kindData:
		if _, ok := j.paths[e.id]; !ok {
			return fmt.Errorf("holds bytes for unknown file %d", e.id)
		}
	}
	j.entries = append(j.entries, e)
	return nil
}

// checkSeal: the seal covers exactly the files the journal names.
func (j *journalFile) checkSeal() error {
	seen := map[uint32]bool{}
	for _, s := range j.seal {
		if _, ok := j.paths[s.id]; !ok || seen[s.id] {
			return fmt.Errorf("its seal names file %d, which the journal does not or names twice", s.id)
		}
		seen[s.id] = true
	}
	if len(seen) != len(j.paths) {
		return fmt.Errorf("its seal covers %d of the %d files it changed", len(seen), len(j.paths))
	}
	return nil
}

// validAfter looks for a valid record numbered at least minSeq at any
// 8-byte aligned position in [from, limit).
func validAfter(f io.ReaderAt, from, limit int64, minSeq uint32) (int64, uint32, bool) {
	from = (from + 7) &^ 7
	const step = 1 << 20
	buf := make([]byte, min(step+17, max(0, limit-from)))
	for base := from; base+8 <= limit; base += step {
		n := min(int64(len(buf)), limit-base)
		b := buf[:n]
		if k, err := f.ReadAt(b, base); k < len(b) && err != nil {
			b = b[:k]
		}
		for i := 0; i+17 <= len(b) && int64(i) < step; i += 8 {
			ln := binary.LittleEndian.Uint32(b[i:])
			kind := b[i+8]
			seq := binary.LittleEndian.Uint32(b[i+9:])
			at := base + int64(i)
			if ln < 9 || ln > maxPayload || at+int64(recLen(int(ln))) > limit || kind < kindFile || kind > kindEnd || seq < minSeq {
				continue
			}
			rec := make([]byte, recLen(int(ln)))
			if _, err := f.ReadAt(rec, at); err != nil {
				continue
			}
			if r, err := parseRecord(rec); !errors.Is(err, errBad) {
				return at, r.seq, true
			}
		}
	}
	return 0, 0, false
}
