package journal

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// entry is a parsed record whose old bytes stay in the journal file.
type entry struct {
	record
	dataAt int64 // offset of the old bytes in the journal
	dataN  int64
}

// Rollback restores every file the journaled run changed to its state
// before the run, byte for byte, then removes the journal. It is safe to run
// again after an interruption.
func Rollback(imagePath string) error {
	jp := Path(imagePath)
	f, err := os.Open(jp)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%s: %w", imagePath, ErrNoJournal)
	}
	if err != nil {
		return fmt.Errorf("journal: rollback %s: %w", imagePath, err)
	}
	defer f.Close()
	entries, err := readEntries(f)
	if err != nil {
		return fmt.Errorf("journal: rollback %s from %s: %w", imagePath, jp, err)
	}
	if err := apply(f, entries); err != nil {
		return fmt.Errorf("journal: rollback %s: %w (the journal %s is kept; fix the cause and run rollback again)", imagePath, err, jp)
	}
	f.Close()
	if err := os.Remove(jp); err != nil {
		return fmt.Errorf("journal: rollback %s: remove journal: %w", imagePath, err)
	}
	return syncDir(filepath.Dir(jp))
}

// readEntries reads record headers one by one, keeping only the position of
// old bytes, so a journal larger than memory can be rolled back.
func readEntries(f *os.File) ([]entry, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := st.Size()
	head := make([]byte, len(magic))
	if _, err := f.ReadAt(head, 0); err != nil || string(head) != magic {
		if size < int64(len(magic)) {
			return nil, nil // torn while being created: nothing was written yet
		}
		return nil, errors.New("not a pvinject journal (bad magic)")
	}
	var out []entry
	buf := make([]byte, 0, 1<<20)
	for pos := int64(len(magic)); pos+8 <= size; {
		var hdr [8]byte
		if _, err := f.ReadAt(hdr[:], pos); err != nil {
			return nil, err
		}
		n := int64(uint32(hdr[0]) | uint32(hdr[1])<<8 | uint32(hdr[2])<<16 | uint32(hdr[3])<<24)
		if n > maxPayload || pos+8+n > size {
			break // torn
		}
		if int64(cap(buf)) < 8+n {
			buf = make([]byte, 0, 8+n)
		}
		b := buf[:8+n]
		if _, err := f.ReadAt(b, pos); err != nil {
			return nil, err
		}
		r, k, err := parseRecord(b)
		if errors.Is(err, errTorn) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("record at %d: %w", pos, err)
		}
		e := entry{record: r}
		if r.kind == kindData {
			e.dataAt = pos + 8 + 13
			e.dataN = int64(len(r.data))
			e.data = nil
		}
		out = append(out, e)
		pos += int64(k)
	}
	return out, nil
}

// apply undoes the entries newest first.
func apply(j *os.File, entries []entry) error {
	paths := map[uint32]string{}
	for _, e := range entries {
		if e.kind == kindFile || e.kind == kindCreate {
			if _, dup := paths[e.id]; dup {
				return fmt.Errorf("journal names file id %d twice", e.id)
			}
			paths[e.id] = e.path
		} else if _, ok := paths[e.id]; !ok {
			return fmt.Errorf("journal has data for unknown file id %d", e.id)
		}
	}
	open := map[uint32]*os.File{}
	defer func() {
		for _, f := range open {
			f.Close()
		}
	}()
	file := func(id uint32) (*os.File, error) {
		if f, ok := open[id]; ok {
			return f, nil
		}
		f, err := os.OpenFile(paths[id], os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, err
		}
		open[id] = f
		return f, nil
	}
	for i := len(entries) - 1; i >= 0; i-- {
		e := entries[i]
		switch e.kind {
		case kindData:
			old := make([]byte, e.dataN)
			if _, err := j.ReadAt(old, e.dataAt); err != nil && !errors.Is(err, io.EOF) {
				return err
			}
			f, err := file(e.id)
			if err != nil {
				return err
			}
			if _, err := f.WriteAt(old, e.off); err != nil {
				return fmt.Errorf("restore %s at %d: %w", f.Name(), e.off, err)
			}
		case kindFile:
			f, err := file(e.id)
			if err != nil {
				return err
			}
			if err := f.Truncate(e.size); err != nil {
				return fmt.Errorf("restore size of %s: %w", f.Name(), err)
			}
		case kindCreate:
			if f, ok := open[e.id]; ok {
				f.Close()
				delete(open, e.id)
			}
			if err := os.Remove(e.path); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("remove created %s: %w", e.path, err)
			}
		}
	}
	for _, f := range open {
		if err := f.Sync(); err != nil {
			return fmt.Errorf("sync %s: %w", f.Name(), err)
		}
	}
	return nil
}
