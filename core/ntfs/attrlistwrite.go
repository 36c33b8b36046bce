package ntfs

import (
	"fmt"
	"sort"
)

// replaceDataExtended rewrites a $DATA stream whose runlist does not fit in
// the base record, or that already lives in extension records: stage three
// of NTFS file growth. The base record keeps a resident $ATTRIBUTE_LIST and
// every other attribute; the runlist is split into extents, each in an
// extension record. A list too big to stay resident (stage four) is refused
// before anything is written.
func (v *Volume) replaceDataExtended(f *file, data []byte) error {
	base := f.base
	if base.Num < firstUser {
		return fmt.Errorf("MFT record %d is NTFS metadata: %w", base.Num, ErrUnsupported)
	}
	if al := base.find(atAttributeList, ""); al != nil && al.NonRes {
		return fmt.Errorf("MFT record %d has a non-resident attribute list (stage four of file growth): %w", base.Num, ErrUnsupported)
	}
	exts := f.attrs(atData, "")
	old, err := f.stream(atData, "")
	if err != nil {
		return err
	}
	var oldRuns []run
	if old.nonRes {
		oldRuns = old.runs
	}
	bm, err := v.clusterBitmap()
	if err != nil {
		return err
	}
	cs := v.boot.ClusterSize
	need := (int64(len(data)) + cs - 1) / cs
	hasHole := false
	for _, r := range oldRuns {
		hasHole = hasHole || r.LCN == sparseLCN
	}
	keep := oldRuns
	if hasHole {
		keep = nil
	}
	kept, dropped := truncateRuns(keep, need)
	if hasHole {
		dropped = oldRuns
	}
	runs := append([]run(nil), kept...)
	var added []run
	if have := runsClusters(kept); have < need {
		hint := int64(0)
		if n := len(kept); n > 0 {
			hint = kept[n-1].LCN + kept[n-1].Length
		}
		if added, err = bm.allocate(need-have, hint); err != nil {
			return err
		}
		for _, r := range added {
			runs = appendRun(runs, r)
		}
	}
	fail := func(err error) error {
		_ = bm.release(added)
		return err
	}

	// Split the runlist into extents that each fit an empty extension record.
	tmpl := exts[0]
	room := v.boot.RecordSize - newRecordLayout(0, v.boot.RecordSize, 1).firstOfs - 8 - align8(0x40+2*len(tmpl.Name)) - 8
	var extents []*attr
	vcn := int64(0)
	for start := 0; start < len(runs) || len(extents) == 0; {
		end := start
		for end < len(runs) && len(encodeRuns(runs[start:end+1])) <= room {
			end++
		}
		if end == start && start < len(runs) {
			return fail(fmt.Errorf("%w: a single run does not fit an extension record", ErrCorrupt))
		}
		part := append([]run(nil), runs[start:end]...)
		n := runsClusters(part)
		extents = append(extents, &attr{Type: atData, Name: tmpl.Name, NonRes: true, Runs: part, LowVCN: vcn, HighVCN: vcn + n - 1, dirty: true})
		vcn += n
		start = end
		if start >= len(runs) {
			break
		}
	}
	if tmpl.Flags&afSparse != 0 {
		clearSparse(f)
	}
	first := extents[0]
	first.AllocSize, first.DataSize, first.InitSize = need*cs, int64(len(data)), int64(len(data))

	// Reuse extension records that held only $DATA; allocate the rest.
	var reuse, freed []*record
	for _, r := range f.recs[1:] {
		only := true
		for _, a := range r.Attrs {
			if !a.is(atData, "") {
				only = false
			}
		}
		if only {
			reuse = append(reuse, r)
		}
	}
	for _, a := range exts {
		f.recordOf(a).remove(a)
	}
	var extRecs []*record
	var newNums []uint64
	for i, e := range extents {
		var r *record
		if i < len(reuse) {
			r = reuse[i]
		} else {
			num, seq, err := v.allocRecord()
			if err != nil {
				v.undone = freeAll(v, newNums)
				return fail(err)
			}
			newNums = append(newNums, num)
			r = newRecordLayout(num, v.boot.RecordSize, seq)
			r.Base = fileRef(base.Num, base.Seq)
		}
		r.add(e)
		extRecs = append(extRecs, r)
	}
	if len(reuse) > len(extents) {
		freed = reuse[len(extents):]
	}

	// Rebuild the attribute list over the base and the new extension set.
	recs := append([]*record{base}, extRecs...)
	for _, r := range f.recs[1:] {
		if !containsRec(reuse, r) {
			recs = append(recs, r) // extension records holding other attributes
		}
	}
	al := base.find(atAttributeList, "")
	if al == nil {
		al = &attr{Type: atAttributeList}
		base.add(al)
	}
	var list []attrListEntry
	for _, r := range recs {
		for _, a := range r.Attrs {
			if a.Type == atAttributeList {
				continue
			}
			list = append(list, attrListEntry{Type: a.Type, Name: a.Name, LowVCN: a.LowVCN, Ref: fileRef(r.Num, r.Seq), ID: a.ID})
		}
	}
	sort.SliceStable(list, func(i, j int) bool {
		a, b := list[i], list[j]
		if a.Type != b.Type {
			return a.Type < b.Type
		}
		if c := compareRaw(a.Name, b.Name); c != 0 {
			return c < 0
		}
		return a.LowVCN < b.LowVCN
	})
	al.Value = encodeAttrList(list)
	al.dirty = true
	if base.freeSpace() < 0 {
		v.undone = freeAll(v, newNums)
		return fail(fmt.Errorf("MFT record %d: attribute list of %d bytes no longer fits (stage four of file growth, non-resident attribute list): %w",
			base.Num, len(al.Value), ErrUnsupported))
	}

	// Data first, then extension records, then the base that points at them.
	s := &stream{v: v, nonRes: true, runs: runs, size: int64(len(data)), init: int64(len(data)), alloc: need * cs}
	padded := data
	if rem := int64(len(data)) % cs; rem != 0 {
		padded = make([]byte, need*cs)
		copy(padded, data)
	}
	if err := s.writeFull(padded, 0); err != nil {
		return err
	}
	for _, r := range extRecs {
		if err := v.writeRecord(r); err != nil {
			return err
		}
	}
	if err := v.writeRecord(base); err != nil {
		return err
	}
	for _, r := range freed {
		r.Flags &^= rfInUse
		r.Attrs = nil
		// A freed record's sequence number moves on, so stale references fail.
		if r.Seq++; r.Seq == 0 {
			r.Seq = 1
		}
		if err := v.writeRecord(r); err != nil {
			return err
		}
		if err := v.freeRecordBit(r.Num); err != nil {
			return err
		}
	}
	f.recs = recs
	v.log.Debug("ntfs: $DATA kept in extension records", "record", base.Num, "extents", len(extents), "runs", len(runs))
	return bm.release(dropped)
}

func containsRec(rs []*record, r *record) bool {
	for _, x := range rs {
		if x == r {
			return true
		}
	}
	return false
}

// freeAll gives back records allocated by a failing operation and reports
// whether that fully undid its writes.
func freeAll(v *Volume, nums []uint64) bool {
	ok := true
	for _, n := range nums {
		ok = v.freeRecordBit(n) == nil && ok
	}
	return ok
}
