package ntfs

import (
	"encoding/binary"
	"fmt"
)

// firstFreeSearch is where record allocation starts, as ntfs-3g does:
// records below it stay for metadata and their extensions.
const firstFreeSearch = 64

// mftBitmap returns $MFT's $BITMAP attribute and a stream over it.
func (v *Volume) mftBitmap() (*record, *attr, *stream, error) {
	r0, err := v.readRecord(recMFT)
	if err != nil {
		return nil, nil, nil, err
	}
	a := r0.find(atBitmap, "")
	if a == nil && r0.find(atAttributeList, "") != nil {
		// A fragmented $MFT may keep its $BITMAP in an extension record.
		f, err := v.fileFromBase(r0)
		if err != nil {
			return nil, nil, nil, err
		}
		if exts := f.attrs(atBitmap, ""); len(exts) == 1 {
			a, r0 = exts[0], f.recordOf(exts[0])
		}
	}
	if a == nil {
		return nil, nil, nil, corrupt("$MFT", -1, "no single $BITMAP")
	}
	s := &stream{v: v, nonRes: a.NonRes, value: a.Value, runs: a.Runs, size: int64(len(a.Value))}
	if a.NonRes {
		s.size, s.init, s.alloc = a.DataSize, a.InitSize, a.AllocSize
	}
	return r0, a, s, nil
}

// allocRecord reserves a free MFT record, extending $MFT when none is
// free, and returns its number and the sequence number to use.
func (v *Volume) allocRecord() (uint64, uint16, error) {
	for attempt := 0; attempt < 2; attempt++ {
		r0, a, s, err := v.mftBitmap()
		if err != nil {
			return 0, 0, err
		}
		total := v.mftRecords()
		if maxBits := uint64(s.size) * 8; total > maxBits {
			total = maxBits
		}
		bits, err := s.readAll(16 << 20)
		if err != nil {
			return 0, 0, fmt.Errorf("read $MFT bitmap: %w", err)
		}
		pick := func(from, to uint64) (uint64, bool) {
			for n := from; n < to; n++ {
				if bits[n/8]&(1<<(n%8)) == 0 {
					return n, true
				}
			}
			return 0, false
		}
		n, ok := pick(firstFreeSearch, total)
		if !ok {
			n, ok = pick(firstUser, min(firstFreeSearch, total))
		}
		if !ok {
			if attempt == 0 {
				if err := v.extendMFT(); err != nil {
					return 0, 0, err
				}
			}
			continue
		}
		bits[n/8] |= 1 << (n % 8)
		if a.NonRes {
			if err := s.writeFull(bits[n/8:n/8+1], int64(n/8)); err != nil {
				return 0, 0, err
			}
		} else {
			a.Value = bits
			a.dirty = true
			if err := v.writeRecord(r0); err != nil {
				return 0, 0, err
			}
		}
		seq := uint16(1)
		if old, err := v.readRecord(n); err == nil && old.Seq != 0 {
			seq = old.Seq
		}
		delete(v.cache, n)
		return n, seq, nil
	}
	return 0, 0, fmt.Errorf("%w: no free MFT record after extending $MFT", ErrNoSpace)
}

// freeRecordBit clears a record's bit in $MFT's $BITMAP (used to undo an
// allocation no index entry refers to yet).
func (v *Volume) freeRecordBit(n uint64) error {
	r0, a, s, err := v.mftBitmap()
	if err != nil {
		return err
	}
	if int64(n/8) >= s.size {
		return fmt.Errorf("%w: record %d beyond $MFT bitmap", ErrCorrupt, n)
	}
	if a.NonRes {
		b := make([]byte, 1)
		if err := s.readFull(b, int64(n/8)); err != nil {
			return err
		}
		b[0] &^= 1 << (n % 8)
		return s.writeFull(b, int64(n/8))
	}
	a.Value[n/8] &^= 1 << (n % 8)
	a.dirty = true
	return v.writeRecord(r0)
}

// mftGrowRecords is how many records one $MFT extension adds.
const mftGrowRecords = 64

// extendMFT appends clusters to $MFT's $DATA, formats the new records as
// free, and grows $MFT's $BITMAP to cover them.
func (v *Volume) extendMFT() error {
	r0, bmA, _, err := v.mftBitmap()
	if err != nil {
		return err
	}
	if r0.Num != recMFT || r0.find(atAttributeList, "") != nil {
		return fmt.Errorf("$MFT is full and has an attribute list (fragmented MFT); extending it is not supported: %w", ErrUnsupported)
	}
	data := r0.find(atData, "")
	if data == nil || !data.NonRes || len(data.Runs) == 0 || data.Runs[len(data.Runs)-1].LCN == sparseLCN {
		return corrupt("$MFT", -1, "no non-resident $DATA")
	}
	cs, rs := v.boot.ClusterSize, int64(v.boot.RecordSize)
	clusters := max((mftGrowRecords*rs+cs-1)/cs, 1)
	bm, err := v.clusterBitmap()
	if err != nil {
		return err
	}
	last := data.Runs[len(data.Runs)-1]
	got, err := bm.allocate(clusters, last.LCN+last.Length)
	if err != nil {
		return fmt.Errorf("extend $MFT: %w", err)
	}
	oldSize := data.DataSize
	oldRecs := uint64(oldSize / rs)
	runs := append([]run(nil), data.Runs...)
	for _, r := range got {
		runs = appendRun(runs, r)
	}
	newSize := runsClusters(runs) * cs / rs * rs
	newRecs := uint64(newSize / rs)
	// Format the new records before $MFT claims them.
	ext := &stream{v: v, nonRes: true, runs: runs, size: newSize, init: newSize, alloc: runsClusters(runs) * cs}
	for n := oldRecs; n < newRecs; n++ {
		blank := newRecordLayout(n, int(rs), 1)
		blank.Flags = 0
		b, err := blank.marshal()
		if err != nil {
			return err
		}
		if err := ext.writeFull(b, int64(n)*rs); err != nil {
			return fmt.Errorf("format MFT record %d: %w", n, err)
		}
	}
	// Grow the bitmap (kept a multiple of 8 bytes) so it covers every record.
	needBytes := int64(align8(int((newRecs + 7) / 8)))
	if bmA.NonRes {
		if needBytes > bmA.AllocSize {
			more, err := bm.allocate((needBytes-bmA.AllocSize+cs-1)/cs, 0)
			if err != nil {
				return err
			}
			bruns := append([]run(nil), bmA.Runs...)
			for _, r := range more {
				bruns = appendRun(bruns, r)
			}
			bmA.setRuns(bruns, cs, bmA.DataSize, bmA.InitSize)
		}
		if needBytes > bmA.DataSize {
			zs := &stream{v: v, nonRes: true, runs: bmA.Runs, size: needBytes, init: needBytes, alloc: bmA.AllocSize}
			if err := zs.writeFull(make([]byte, needBytes-bmA.InitSize), bmA.InitSize); err != nil {
				return err
			}
			bmA.DataSize, bmA.InitSize = needBytes, needBytes
			bmA.dirty = true
		}
	} else if int64(len(bmA.Value)) < needBytes {
		bmA.Value = append(bmA.Value, make([]byte, needBytes-int64(len(bmA.Value)))...)
		bmA.dirty = true
	}
	data.setRuns(runs, cs, newSize, newSize)
	if err := v.writeRecord(r0); err != nil {
		return fmt.Errorf("extend $MFT: %w", err)
	}
	v.mft = &stream{v: v, nonRes: true, runs: runs, size: newSize, init: newSize, alloc: data.AllocSize}
	v.log.Debug("ntfs: extended $MFT", "records_before", oldRecs, "records_after", newRecs, "runs", len(runs))
	return bm.flush()
}

// securityIDFor picks the $STANDARD_INFORMATION security id new entries
// in dir get: the one most of its existing children of the same kind use,
// so they end up with the same ACL, else the directory's own.
func (v *Volume) securityIDFor(dir *file, isDir bool) uint32 {
	key := secKey{dir.base.Num, isDir}
	if id, ok := v.secIDs[key]; ok {
		return id
	}
	counts := map[uint32]int{}
	seen := 0
	if d, err := v.openIndex(dir); err == nil {
		_ = d.walk(func(e *indexEntry, fn *fileName) error {
			if seen >= 16 {
				return errStop
			}
			if (fn.Attrs&attrDupIndex != 0) != isDir || refNum(e.Ref) < firstUser {
				return nil
			}
			seen++
			c, err := v.openFile(refNum(e.Ref))
			if err != nil {
				return nil
			}
			// Id 0 means "own $SECURITY_DESCRIPTOR" (NTFS 1.x style); not shared.
			if si := c.first(atStandardInfo, ""); si != nil && len(si.Value) >= siLen && le32(si.Value[siSecurityID:]) != 0 {
				counts[le32(si.Value[siSecurityID:])]++
			}
			return nil
		})
	}
	best, bestN := uint32(0), 0
	for id, n := range counts {
		if n > bestN || (n == bestN && id < best) {
			best, bestN = id, n
		}
	}
	if bestN == 0 {
		if si := dir.first(atStandardInfo, ""); si != nil && len(si.Value) >= siLen {
			best = le32(si.Value[siSecurityID:])
		}
	}
	v.secIDs[key] = best
	return best
}

type secKey struct {
	dir   uint64
	isDir bool
}

func putSI(b []byte, now uint64, attrs, secID uint32) {
	for _, o := range []int{siCreated, siModified, siMFTChange, siAccessed} {
		binary.LittleEndian.PutUint64(b[o:], now)
	}
	binary.LittleEndian.PutUint32(b[siAttrs:], attrs)
	binary.LittleEndian.PutUint32(b[siSecurityID:], secID)
}
