package ntfs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// WriteFile replaces the content of the file at p, or creates it (the
// parent directory must exist). Writes go through the device given to
// Open; the volume is marked dirty first and clean again by Close.
func (v *Volume) WriteFile(p string, data []byte) error {
	err := v.mutate(func() error {
		f, fn, err := v.resolve(p)
		if errors.Is(err, ErrNotExist) {
			return v.create(p, data, false)
		}
		if err != nil {
			return err
		}
		if f.base.Flags&rfDirectory != 0 {
			return ErrIsDir
		}
		if err := v.replaceData(f, data); err != nil {
			return err
		}
		return v.touch(f, fn, true)
	})
	if err != nil {
		var pe *PathError
		if !errors.As(err, &pe) {
			err = &PathError{Op: "write", Path: p, Err: err}
		}
	}
	return err
}

// recordOf returns the record of f holding attribute a.
func (f *file) recordOf(a *attr) *record {
	for _, r := range f.recs {
		for _, x := range r.Attrs {
			if x == a {
				return r
			}
		}
	}
	return nil
}

// refuseSpecial rejects data attributes this package must not rewrite.
func refuseSpecial(f *file, a *attr) error {
	if a.Flags&(afCompressed|afEncrypted) != 0 {
		return fmt.Errorf("MFT record %d: $DATA is compressed or encrypted: %w", f.base.Num, ErrUnsupported)
	}
	if si := f.first(atStandardInfo, ""); si != nil && len(si.Value) >= 0x24 {
		if le32(si.Value[siAttrs:])&(AttrCompressed|AttrEncrypted|AttrReparsePoint) != 0 {
			return fmt.Errorf("MFT record %d is compressed, encrypted or a reparse point: %w", f.base.Num, ErrUnsupported)
		}
	}
	return nil
}

// residentSize is the attribute record length of a resident value.
func residentSize(a *attr, n int) int { return align8(align8(0x18+2*len(a.Name)) + n) }

// replaceData rewrites the unnamed $DATA of f with data: resident when it
// fits in the record, otherwise non-resident, reusing the leading clusters
// and allocating or freeing the difference. Data is written before the
// record that points to it.
func (v *Volume) replaceData(f *file, data []byte) error {
	exts := f.attrs(atData, "")
	if len(exts) == 0 {
		return fmt.Errorf("MFT record %d has no $DATA: %w", f.base.Num, ErrUnsupported)
	}
	a := exts[0]
	if err := refuseSpecial(f, a); err != nil {
		return err
	}
	if len(exts) > 1 || f.recordOf(a) != f.base {
		return v.replaceDataExtended(f, data)
	}
	rec := f.base
	// Stay resident when the value fits; once non-resident, stay so (as
	// Windows does) to avoid churn.
	if !a.NonRes && rec.freeSpace()+len(a.marshal())-residentSize(a, len(data)) >= 0 {
		a.Value = append([]byte(nil), data...)
		a.dirty = true
		return v.writeRecord(rec)
	}
	bm, err := v.clusterBitmap()
	if err != nil {
		return err
	}
	cs := v.boot.ClusterSize
	need := (int64(len(data)) + cs - 1) / cs
	var old []run
	if a.NonRes {
		old = a.Runs
	}
	// Sparse runs are not preserved: the new content is written in full.
	hasHole := false
	for _, r := range old {
		if r.LCN == sparseLCN {
			hasHole = true
		}
	}
	keep := old
	if hasHole {
		keep = nil
	}
	kept, dropped := truncateRuns(keep, need)
	if hasHole {
		dropped = old
	}
	runs := append([]run(nil), kept...)
	var added []run
	if have := runsClusters(kept); have < need {
		hint := int64(0)
		if n := len(kept); n > 0 {
			hint = kept[n-1].LCN + kept[n-1].Length
		}
		added, err = bm.allocate(need-have, hint)
		if err != nil {
			return err
		}
		for _, r := range added {
			runs = appendRun(runs, r)
		}
	}
	undo := func() {
		_ = bm.release(added)
	}
	// Fit check before any byte is written.
	old2 := *a
	if !a.NonRes {
		a.NonRes, a.Value, a.ResFlags = true, nil, 0
	}
	if a.Flags&afSparse != 0 {
		clearSparse(f)
	}
	a.Flags &^= afSparse
	a.CompUnit, a.CompSize = 0, 0
	a.setRuns(runs, cs, int64(len(data)), int64(len(data)))
	if rec.freeSpace() < 0 {
		*a = old2
		a.dirty = true
		undo()
		return v.replaceDataExtended(f, data)
	}
	s := &stream{v: v, nonRes: true, runs: runs, size: int64(len(data)), init: int64(len(data)), alloc: need * cs}
	padded := data
	if rem := int64(len(data)) % cs; rem != 0 {
		padded = make([]byte, need*cs)
		copy(padded, data)
	}
	if err := s.writeFull(padded, 0); err != nil {
		return err
	}
	if err := v.writeRecord(rec); err != nil {
		return err
	}
	return bm.release(dropped)
}

// touch refreshes $STANDARD_INFORMATION times and the parent index entries'
// $FILE_NAME copies (times and sizes) after a content change.
func (v *Volume) touch(f *file, fn *fileName, dataChanged bool) error {
	now := ntTime(time.Now())
	if si := f.first(atStandardInfo, ""); si != nil && !si.NonRes && len(si.Value) >= 0x24 {
		if dataChanged {
			binary.LittleEndian.PutUint64(si.Value[siModified:], now)
		}
		if dataChanged && f.base.Flags&rfDirectory == 0 {
			binary.LittleEndian.PutUint32(si.Value[siAttrs:], le32(si.Value[siAttrs:])|AttrArchive)
		}
		binary.LittleEndian.PutUint64(si.Value[siMFTChange:], now)
		binary.LittleEndian.PutUint64(si.Value[siAccessed:], now)
		si.dirty = true
		if err := v.writeRecord(f.recordOf(si)); err != nil {
			return err
		}
	}
	if fn == nil {
		return nil
	}
	alloc, size := dataSizes(f)
	parent, err := v.openFile(refNum(fn.Parent))
	if err != nil {
		return err
	}
	for _, a := range f.attrs(atFileName, "") {
		name, err := parseFileName(a.Value)
		if err != nil || refNum(name.Parent) != parent.base.Num {
			continue
		}
		err = v.updateIndexEntry(parent, name.Name, func(k *fileName) {
			k.AllocSize, k.DataSize = alloc, size
			if dataChanged {
				k.Modified = now
			}
			k.MFTChange, k.Accessed = now, now
			if si := f.first(atStandardInfo, ""); si != nil && len(si.Value) >= 0x24 {
				k.Attrs = le32(si.Value[siAttrs:]) | k.Attrs&attrDupIndex
			}
		})
		if err != nil {
			return fmt.Errorf("update index entry in directory record %d: %w", parent.base.Num, err)
		}
	}
	return nil
}

// dataSizes returns the allocated and logical sizes of the unnamed $DATA as
// $FILE_NAME records them.
func dataSizes(f *file) (alloc, size int64) {
	a := f.first(atData, "")
	switch {
	case a == nil:
		return 0, 0
	case a.NonRes && a.Flags&(afCompressed|afSparse) != 0:
		return a.CompSize, a.DataSize // clusters actually allocated, as Windows records it
	case a.NonRes:
		return a.AllocSize, a.DataSize
	default:
		return int64(align8(len(a.Value))), int64(len(a.Value))
	}
}

// clearSparse drops the sparse file attribute once the data is rewritten
// in full, so $STANDARD_INFORMATION agrees with $DATA (the record is
// written by the caller).
func clearSparse(f *file) {
	if si := f.first(atStandardInfo, ""); si != nil && len(si.Value) >= 0x24 {
		binary.LittleEndian.PutUint32(si.Value[siAttrs:], le32(si.Value[siAttrs:])&^AttrSparse)
		si.dirty = true
	}
}
