package ntfs

import (
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/pvinject/pvinject/core/safety"
)

// Mkdir creates a directory; its parent must exist.
func (v *Volume) Mkdir(p string) error {
	return v.mutate(func() error {
		if _, _, err := v.resolve(p); err == nil {
			return &PathError{Op: "mkdir", Path: p, Err: ErrExist}
		} else if !errors.Is(err, ErrNotExist) {
			return err
		}
		return v.create(p, nil, true)
	})
}

// MkdirAll creates a directory and any missing parents.
func (v *Volume) MkdirAll(p string) error {
	parts := splitPath(p)
	for i := range parts {
		sub := strings.Join(parts[:i+1], "/")
		fi, err := v.Stat(sub)
		if err == nil {
			if !fi.IsDir {
				return &PathError{Op: "mkdir", Path: sub, Err: ErrNotDir}
			}
			continue
		}
		if !errors.Is(err, ErrNotExist) {
			return err
		}
		if err := v.Mkdir(sub); err != nil {
			return err
		}
	}
	return nil
}

// refuseTargetDir stops writes into compressed or encrypted directories,
// whose new files Windows would expect to be compressed or encrypted too.
func refuseTargetDir(dir *file, p string) error {
	si := dir.first(atStandardInfo, "")
	if si == nil || len(si.Value) < 0x24 {
		return nil
	}
	attrs := le32(si.Value[siAttrs:])
	switch {
	case attrs&AttrEncrypted != 0:
		return &safety.Refusal{Subject: p, Reason: "the directory is EFS-encrypted; pvinject cannot write encrypted files",
			Remedy: "in Windows, clear \"Encrypt contents\" on this folder (cipher /d), shut down fully, then try again"}
	case attrs&AttrCompressed != 0:
		return &safety.Refusal{Subject: p, Reason: "the directory is NTFS-compressed; pvinject cannot write compressed files",
			Remedy: "in Windows, clear \"Compress contents\" on this folder (compact /u), shut down fully, then try again"}
	}
	return nil
}

// create makes a new file (with data) or directory at p.
func (v *Volume) create(p string, data []byte, isDir bool) error {
	parts := splitPath(p)
	if len(parts) == 0 {
		return &PathError{Op: "create", Path: p, Err: ErrExist}
	}
	name := parts[len(parts)-1]
	if err := validName(name); err != nil {
		return &PathError{Op: "create", Path: p, Err: err}
	}
	parentPath := path.Join(append([]string{"/"}, parts[:len(parts)-1]...)...)
	parent, _, err := v.resolve(parentPath)
	if err != nil {
		return err
	}
	if parent.base.Flags&rfDirectory == 0 {
		return &PathError{Op: "create", Path: parentPath, Err: ErrNotDir}
	}
	if err := refuseTargetDir(parent, parentPath); err != nil {
		return err
	}
	d, err := v.openIndex(parent)
	if err != nil {
		return &PathError{Op: "create", Path: parentPath, Err: err}
	}
	uname := toUTF16(name)
	if _, found, err := d.search(uname); err != nil {
		return &PathError{Op: "create", Path: parentPath, Err: err}
	} else if found {
		return &PathError{Op: "create", Path: p, Err: ErrExist}
	}
	secID := v.securityIDFor(parent, isDir)
	rootAttr := parent.first(atIndexRoot, i30)
	parentRoot, err := parseIndexRoot(rootAttr.Value)
	if err != nil {
		return err
	}

	num, seq, err := v.allocRecord()
	if err != nil {
		return &PathError{Op: "create", Path: p, Err: err}
	}
	now := ntTime(time.Now())
	rec := newRecordLayout(num, v.boot.RecordSize, seq)
	rec.Links = 1
	siAttrs := AttrArchive
	if isDir {
		rec.Flags |= rfDirectory
		siAttrs = 0
	}
	si := &attr{Type: atStandardInfo, Value: make([]byte, siLen)}
	putSI(si.Value, now, siAttrs, secID)
	fn := &fileName{Parent: fileRef(parent.base.Num, parent.base.Seq), Created: now, Modified: now, MFTChange: now,
		Accessed: now, Attrs: siAttrs, Namespace: nsPOSIX, Name: uname}
	// A name that is not already an upper-case 8.3 name goes in the POSIX
	// namespace, as ntfs-3g (and so virt-customize and virt-v2v) writes
	// every name: Windows reads it like any other. A Win32-only name would
	// promise a DOS companion that is not there, and ntfs-3g then cannot
	// delete or rename the file (docs/NTFS-NAMES.md).
	if is83(name) {
		fn.Namespace = nsWin32AndDOS
	}
	if isDir {
		fn.Attrs |= attrDupIndex
	}
	rec.add(si)
	rec.add(&attr{Type: atFileName, Value: fn.marshal(), ResFlags: 1})
	if isDir {
		ir := &indexRoot{AttrType: atFileName, Collation: 1, BlockSize: parentRoot.BlockSize, ClustersPB: parentRoot.ClustersPB,
			Entries: []indexEntry{{Flags: ieLast}}}
		rec.add(&attr{Type: atIndexRoot, Name: toUTF16(i30), Value: ir.marshal()})
	} else {
		rec.add(&attr{Type: atData})
	}
	f := &file{v: v, base: rec, recs: []*record{rec}}
	if isDir || len(data) == 0 {
		err = v.writeRecord(rec)
	} else {
		err = v.replaceData(f, data)
	}
	if err != nil {
		// Nothing points at the record yet: give it back.
		if ferr := v.freeRecordBit(num); ferr != nil {
			err = fmt.Errorf("%w (and releasing MFT record %d: %v)", err, num, ferr)
		} else if errors.Is(err, ErrNoSpace) || errors.Is(err, ErrUnsupported) {
			v.undone = true
		}
		return &PathError{Op: "create", Path: p, Err: err}
	}
	// The entry goes in last: until then the new record is unreachable.
	fn.AllocSize, fn.DataSize = dataSizes(f)
	entry := indexEntry{Ref: fileRef(num, seq), Key: fn.marshal()}
	before := v.writes
	if err := d.insert(entry); err != nil {
		if v.writes == before && v.err == nil {
			// The index is untouched: retire the unreachable record so the
			// volume stays consistent. Its clusters were never flushed to
			// $Bitmap and are released with the dropped cache.
			rec.Flags = 0
			rec.Seq++
			if rec.Seq == 0 {
				rec.Seq = 1
			}
			if werr := v.writeRecord(rec); werr == nil && v.freeRecordBit(num) == nil {
				v.undone = true
			}
		}
		return &PathError{Op: "create", Path: p, Err: fmt.Errorf("insert into directory index: %w", err)}
	}
	if err := v.touch(parent, nil, true); err != nil {
		return &PathError{Op: "create", Path: p, Err: err}
	}
	return nil
}
