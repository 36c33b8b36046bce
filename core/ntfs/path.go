package ntfs

import (
	"fmt"
	"sort"
	"strings"
)

// maxFileRead bounds ReadFile; larger files must be streamed (not needed by
// pvinject: hives and drivers are far smaller).
const maxFileRead = 1 << 30

const maxCachedRecords = 8192

// splitPath turns "/Windows\\System32" into its components.
func splitPath(p string) []string {
	p = strings.ReplaceAll(p, `\`, "/")
	var out []string
	for _, c := range strings.Split(p, "/") {
		if c != "" && c != "." {
			out = append(out, c)
		}
	}
	return out
}

// resolve walks a path from the root and returns the target's file, and
// the $FILE_NAME it was found under (nil for the root).
func (v *Volume) resolve(p string) (*file, *fileName, error) {
	if v.closed {
		return nil, nil, ErrClosed
	}
	// Records are cached only between public calls' starts, so no
	// operation ever holds two copies of one record.
	if len(v.cache) > maxCachedRecords {
		clear(v.cache)
	}
	cur, err := v.openFile(recRoot)
	if err != nil {
		return nil, nil, err
	}
	var fn *fileName
	for i, c := range splitPath(p) {
		d, err := v.openIndex(cur)
		if err != nil {
			return nil, nil, &PathError{Op: "open", Path: strings.Join(splitPath(p)[:i], "/"), Err: err}
		}
		e, name, err := d.lookup(toUTF16(c))
		if err != nil {
			return nil, nil, &PathError{Op: "open", Path: p, Err: err}
		}
		fn = name
		cur, err = v.openFile(refNum(e.Ref))
		if err != nil {
			return nil, nil, &PathError{Op: "open", Path: p, Err: err}
		}
		if cur.base.Seq != uint16(e.Ref>>48) && e.Ref>>48 != 0 {
			return nil, nil, &PathError{Op: "open", Path: p, Err: corrupt(fmt.Sprintf("MFT record %d", cur.base.Num), -1,
				"sequence %d, index entry expects %d (stale entry)", cur.base.Seq, e.Ref>>48)}
		}
	}
	return cur, fn, nil
}

// ReadFile returns the content of a file's unnamed $DATA stream.
func (v *Volume) ReadFile(p string) ([]byte, error) {
	f, _, err := v.resolve(p)
	if err != nil {
		return nil, err
	}
	if f.base.Flags&rfDirectory != 0 {
		return nil, &PathError{Op: "read", Path: p, Err: ErrIsDir}
	}
	if f.first(atData, "") == nil {
		return []byte{}, nil // e.g. $Secure: only named streams, as Stat's size 0 says
	}
	if err := unreadable(f); err != nil {
		return nil, &PathError{Op: "read", Path: p, Err: err}
	}
	s, err := f.stream(atData, "")
	if err != nil {
		return nil, &PathError{Op: "read", Path: p, Err: err}
	}
	b, err := s.readAll(maxFileRead)
	if err != nil {
		return nil, &PathError{Op: "read", Path: p, Err: err}
	}
	return b, nil
}

// Stat describes the file or directory at p.
func (v *Volume) Stat(p string) (FileInfo, error) {
	f, fn, err := v.resolve(p)
	if err != nil {
		return FileInfo{}, err
	}
	name := ""
	if fn != nil {
		name = fromUTF16(fn.Name)
	}
	fi, err := v.info(f, name)
	if err != nil {
		return FileInfo{}, &PathError{Op: "stat", Path: p, Err: err}
	}
	if fn == nil {
		fi.Name = "/"
	}
	return fi, nil
}

// info builds a FileInfo from a file's records. The name is the one the
// caller found it under, since hard links may give a file several.
func (v *Volume) info(f *file, name string) (FileInfo, error) {
	fi := FileInfo{Name: name, Record: f.base.Num, IsDir: f.base.Flags&rfDirectory != 0}
	if si := f.first(atStandardInfo, ""); si != nil && !si.NonRes && len(si.Value) >= 0x24 {
		fi.Attributes = le32(si.Value[siAttrs:])
		fi.ModTime = fromNTTime(le64(si.Value[siModified:]))
	}
	if fi.IsDir {
		fi.Attributes |= AttrDirectory
		return fi, nil
	}
	if d := f.first(atData, ""); d != nil {
		if d.NonRes {
			if d.LowVCN != 0 {
				return fi, corrupt(fmt.Sprintf("MFT record %d", f.base.Num), -1, "first $DATA extent starts at VCN %d", d.LowVCN)
			}
			fi.Size = d.DataSize
		} else {
			fi.Size = int64(len(d.Value))
		}
	}
	return fi, nil
}

// Reparse tags whose file content lives elsewhere.
const (
	reparseTagWOF   = 0x80000017 // Windows Overlay Filter: CompactOS / compact /exe
	reparseTagDedup = 0x80000013 // Data Deduplication
	atReparsePoint  = 0xc0
)

// unreadable reports files whose unnamed $DATA does not hold their
// content, so ReadFile never returns ciphertext or placeholder bytes.
func unreadable(f *file) error {
	if d := f.first(atData, ""); d != nil && d.Flags&afEncrypted != 0 {
		return fmt.Errorf("MFT record %d is EFS-encrypted: %w", f.base.Num, ErrUnsupported)
	}
	rp := f.first(atReparsePoint, "")
	if rp == nil || rp.NonRes || len(rp.Value) < 4 {
		return nil
	}
	switch tag := le32(rp.Value); tag {
	case reparseTagWOF:
		return fmt.Errorf("MFT record %d is WOF-compressed (CompactOS); its content is in a stream this package does not decode: %w", f.base.Num, ErrUnsupported)
	case reparseTagDedup:
		return fmt.Errorf("MFT record %d is deduplicated; its content is in the dedup store: %w", f.base.Num, ErrUnsupported)
	}
	return nil
}

// ReadDir lists a directory, skipping DOS-only aliases and the root's "."
// entry.
func (v *Volume) ReadDir(p string) ([]FileInfo, error) {
	f, _, err := v.resolve(p)
	if err != nil {
		return nil, err
	}
	d, err := v.openIndex(f)
	if err != nil {
		return nil, &PathError{Op: "readdir", Path: p, Err: err}
	}
	var out []FileInfo
	err = d.walk(func(e *indexEntry, fn *fileName) error {
		if fn.Namespace == nsDOS || refNum(e.Ref) == f.base.Num {
			return nil
		}
		child, err := v.openFile(refNum(e.Ref))
		if err != nil {
			return err
		}
		fi, err := v.info(child, fromUTF16(fn.Name))
		if err != nil {
			return err
		}
		out = append(out, fi)
		return nil
	})
	if err != nil {
		return nil, &PathError{Op: "readdir", Path: p, Err: err}
	}
	sort.SliceStable(out, func(i, j int) bool {
		return v.up.compare(toUTF16(out[i].Name), toUTF16(out[j].Name)) < 0
	})
	return out, nil
}
