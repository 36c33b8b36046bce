package ntfs

import (
	"fmt"
	"strings"
)

// Owner is a file that holds part of a byte range of the volume: its data
// (or directory index) clusters, or its MFT record.
type Owner struct {
	Path     string // `Windows\System32\config\SYSTEM`; `$MFT`, `$Bitmap`, ... for metadata files
	Record   uint64 // its base MFT record
	InRecord bool   // the range holds the file's MFT record, not its data
	Free     bool   // an MFT record not in use (Path is "")
}

// maxOwnerRecords bounds the MFT records Owners scans.
const maxOwnerRecords = 1 << 23

// Owners lists the files whose clusters or MFT records overlap the volume
// bytes [off, end), at most limit of them. It reads every MFT record once,
// without keeping them (a rollback that found changed bytes uses it to name
// what changed; see core/inject's rollback).
func (v *Volume) Owners(off, end int64, limit int) ([]Owner, error) {
	rs := int64(v.boot.RecordSize)
	cs := v.boot.ClusterSize
	var out []Owner
	seen := map[[2]uint64]bool{}
	add := func(o Owner) {
		k := [2]uint64{o.Record, 0}
		if o.InRecord {
			k[1] = 1
		}
		if !seen[k] && len(out) < limit {
			seen[k] = true
			out = append(out, o)
		}
	}
	n := min(v.mftRecords(), maxOwnerRecords)
	b := make([]byte, rs)
	for num := uint64(0); num < n && len(out) < limit; num++ {
		at := v.mft.volOffset(int64(num) * rs)
		if err := v.mft.readFull(b, int64(num)*rs); err != nil {
			return out, fmt.Errorf("ntfs: read MFT record %d: %w", num, err)
		}
		r, err := parseRecord(b, num, v.boot.TotalClusters, at)
		recHit := at >= 0 && at < end && at+rs > off
		if err != nil || r.Flags&rfInUse == 0 {
			if recHit {
				add(Owner{Record: num, InRecord: true, Free: true})
			}
			continue
		}
		base := num
		if r.Base != 0 {
			base = refNum(r.Base)
		}
		if recHit {
			add(Owner{Path: v.pathOf(base), Record: base, InRecord: true})
		}
		for _, a := range r.Attrs {
			if !a.NonRes {
				continue
			}
			for _, run := range a.Runs {
				if run.LCN != sparseLCN && run.LCN*cs < end && (run.LCN+run.Length)*cs > off {
					add(Owner{Path: v.pathOf(base), Record: base})
				}
			}
		}
	}
	return out, nil
}

// pathOf builds a file's path from its $FILE_NAME parents, preferring the
// long (Win32) name; "" when it cannot.
func (v *Volume) pathOf(num uint64) string {
	var parts []string
	for depth := 0; depth < 64; depth++ {
		if num == recRoot {
			return strings.Join(parts, `\`)
		}
		r, err := v.readRecord(num)
		if err != nil {
			return ""
		}
		var best *fileName
		for _, a := range r.Attrs {
			if a.Type != atFileName || a.NonRes {
				continue
			}
			fn, err := parseFileName(a.Value)
			if err != nil {
				continue
			}
			if best == nil || best.Namespace == 2 { // 2: the DOS 8.3 alias
				best = fn
			}
		}
		if best == nil {
			return ""
		}
		parts = append([]string{fromUTF16(best.Name)}, parts...)
		num = refNum(best.Parent)
	}
	return ""
}
