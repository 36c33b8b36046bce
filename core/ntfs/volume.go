package ntfs

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
)

// Options control Open. The zero value opens read-only.
type Options struct {
	// Writable allows writes through the WriterAt. Open refuses with a
	// *safety.Refusal when Check finds a blocker.
	Writable bool
	// Logger receives debug logs; nil discards them.
	Logger *slog.Logger
}

// Device is what a volume is read from and, when writable, written to.
type Device interface {
	io.ReaderAt
	io.WriterAt
}

// Well-known MFT record numbers.
const (
	recMFT     = 0
	recMFTMirr = 1
	recLogFile = 2
	recVolume  = 3
	recRoot    = 5
	recBitmap  = 6
	recUpCase  = 10
	firstUser  = 24 // records below are reserved for metadata files
)

// Volume is an open NTFS volume.
type Volume struct {
	r      io.ReaderAt
	w      io.WriterAt
	size   int64
	boot   *bootSector
	opts   Options
	log    *slog.Logger
	up     upcase
	mft    *stream // $MFT's unnamed $DATA
	major  uint8
	minor  uint8
	vflags uint16

	bitmap     *clusterBitmap
	dirtyMark  bool // we set the dirty flag and must clear it on Close
	closed     bool
	err        error // sticky write error
	mirrorRecs int
	cache      map[uint64]*record
	secIDs     map[secKey]uint32 // security id chosen per parent directory
	writes     int               // device writes, for mutate's failure handling
	undone     bool              // the failing operation compensated its writes
}

// Open reads the boot sector, $MFT, $UpCase and $Volume of the volume in
// dev (size bytes). With opts.Writable it also runs Check and refuses with a
// *safety.Refusal when anything blocks writing. dev's WriterAt is only used
// when Writable is set.
func Open(dev io.ReaderAt, size int64, opts Options) (*Volume, error) {
	v := &Volume{r: dev, size: size, opts: opts, log: opts.Logger, cache: map[uint64]*record{}, secIDs: map[secKey]uint32{}}
	if v.log == nil {
		v.log = slog.New(slog.DiscardHandler)
	}
	if opts.Writable {
		w, ok := dev.(io.WriterAt)
		if !ok {
			return nil, fmt.Errorf("ntfs: open writable: device has no WriteAt")
		}
		v.w = w
	}
	b := make([]byte, 512)
	if _, err := dev.ReadAt(b, 0); err != nil {
		return nil, fmt.Errorf("ntfs: read boot sector: %w", err)
	}
	bs, err := parseBoot(b, size)
	if err != nil {
		return nil, err
	}
	if bs.OEM == "-FVE-FS-" {
		return nil, bitlockerFinding().Refusal("volume")
	}
	v.boot = bs
	if err := v.loadMFT(); err != nil {
		return nil, err
	}
	if err := v.loadVolumeInfo(); err != nil {
		return nil, err
	}
	v.up = defaultUpcase()
	if data, err := v.readRecordData(recUpCase); err == nil && len(data) >= 2*upcaseLen {
		v.up = parseUpcase(data)
	} else if opts.Writable {
		return nil, fmt.Errorf("ntfs: $UpCase unreadable (%v); refusing to write with a guessed collation", err)
	}
	if opts.Writable {
		if err := refuseIfBlocked(v); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// loadMFT bootstraps $MFT: record 0 is read at the boot sector's LCN, then
// its $DATA runlist maps every other record.
func (v *Volume) loadMFT() error {
	rs := v.boot.RecordSize
	off := v.boot.MFTLCN * v.boot.ClusterSize
	b := make([]byte, rs)
	if _, err := v.r.ReadAt(b, off); err != nil {
		return fmt.Errorf("ntfs: read $MFT record 0 at %d: %w", off, err)
	}
	rec, err := parseRecord(b, recMFT, v.boot.TotalClusters, off)
	if err != nil {
		return err
	}
	a := rec.find(atData, "")
	if a == nil || !a.NonRes || a.LowVCN != 0 {
		return corrupt("$MFT", off, "no non-resident $DATA in record 0")
	}
	v.mft = &stream{v: v, nonRes: true, runs: a.Runs, size: a.DataSize, init: a.InitSize, alloc: a.AllocSize}
	// A fragmented $MFT keeps further extents in extension records listed
	// in its attribute list; those records live in the first extent.
	if rec.find(atAttributeList, "") != nil {
		f, err := v.fileFromBase(rec)
		if err != nil {
			return fmt.Errorf("ntfs: $MFT attribute list: %w", err)
		}
		s, err := f.stream(atData, "")
		if err != nil {
			return fmt.Errorf("ntfs: $MFT data: %w", err)
		}
		v.mft = s
	}
	if v.mft.size < int64(rs)*16 || v.mft.size%int64(rs) != 0 {
		return corrupt("$MFT", off, "data size %d", v.mft.size)
	}
	mirr, err := v.readRecord(recMFTMirr)
	if err != nil {
		return err
	}
	if a := mirr.find(atData, ""); a != nil && a.NonRes {
		v.mirrorRecs = int(a.DataSize / int64(rs))
	}
	// $MFTMirr covers at least 4 records, or a whole cluster of them.
	if v.mirrorRecs < 1 || v.mirrorRecs > 1024 {
		v.mirrorRecs = 4
	}
	return nil
}

// mftRecords is the number of records $MFT holds.
func (v *Volume) mftRecords() uint64 { return uint64(v.mft.size / int64(v.boot.RecordSize)) }

// readRecord reads and decodes one MFT record.
func (v *Volume) readRecord(num uint64) (*record, error) {
	if r, ok := v.cache[num]; ok {
		return r, nil
	}
	rs := int64(v.boot.RecordSize)
	if num >= v.mftRecords() {
		return nil, fmt.Errorf("ntfs: MFT record %d beyond the %d records of $MFT: %w", num, v.mftRecords(), ErrCorrupt)
	}
	b := make([]byte, rs)
	if err := v.mft.readFull(b, int64(num)*rs); err != nil {
		return nil, fmt.Errorf("ntfs: read MFT record %d: %w", num, err)
	}
	r, err := parseRecord(b, num, v.boot.TotalClusters, v.mft.volOffset(int64(num)*rs))
	if err != nil {
		return nil, err
	}
	v.cache[num] = r
	return r, nil
}

// file is a base record plus its extension records.
type file struct {
	v    *Volume
	base *record
	recs []*record // base first
}

func (v *Volume) openFile(num uint64) (*file, error) {
	r, err := v.readRecord(num)
	if err != nil {
		return nil, err
	}
	if r.Flags&rfInUse == 0 {
		return nil, fmt.Errorf("ntfs: MFT record %d is not in use: %w", num, ErrNotExist)
	}
	if r.Base != 0 {
		return nil, corrupt(fmt.Sprintf("MFT record %d", num), -1, "is an extension record of %d", refNum(r.Base))
	}
	return v.fileFromBase(r)
}

// maxExtents bounds the extension records followed for one file.
const maxExtents = 4096

func (v *Volume) fileFromBase(r *record) (*file, error) {
	f := &file{v: v, base: r, recs: []*record{r}}
	al := r.find(atAttributeList, "")
	if al == nil {
		return f, nil
	}
	entries, err := f.attrList()
	if err != nil {
		return nil, err
	}
	seen := map[uint64]bool{r.Num: true}
	for _, e := range entries {
		n := refNum(e.Ref)
		if seen[n] {
			continue
		}
		if len(seen) > maxExtents {
			return nil, corrupt(fmt.Sprintf("attribute list of record %d", r.Num), -1, "more than %d extension records", maxExtents)
		}
		seen[n] = true
		x, err := v.readRecord(n)
		if err != nil {
			return nil, fmt.Errorf("extension record of %d: %w", r.Num, err)
		}
		if refNum(x.Base) != r.Num {
			return nil, corrupt(fmt.Sprintf("MFT record %d", n), -1, "listed as extension of %d but its base is %d", r.Num, refNum(x.Base))
		}
		f.recs = append(f.recs, x)
	}
	return f, nil
}

// attrs returns all extents of an attribute across the file's records,
// ordered by starting VCN.
func (f *file) attrs(typ uint32, name string) []*attr {
	var out []*attr
	for _, r := range f.recs {
		for _, a := range r.Attrs {
			if a.is(typ, name) {
				out = append(out, a)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].LowVCN < out[j].LowVCN })
	return out
}

func (f *file) first(typ uint32, name string) *attr {
	if as := f.attrs(typ, name); len(as) > 0 {
		return as[0]
	}
	return nil
}

// stream returns a reader over an attribute's value.
func (f *file) stream(typ uint32, name string) (*stream, error) {
	as := f.attrs(typ, name)
	if len(as) == 0 {
		return nil, fmt.Errorf("record %d: attribute %#x %q: %w", f.base.Num, typ, name, ErrNotExist)
	}
	a := as[0]
	if !a.NonRes {
		return &stream{v: f.v, value: a.Value, size: int64(len(a.Value))}, nil
	}
	s := &stream{v: f.v, nonRes: true, size: a.DataSize, init: a.InitSize, alloc: a.AllocSize,
		compressed: a.Flags&afCompressed != 0 && a.CompUnit != 0, compUnit: a.CompUnit}
	next := int64(0)
	for _, x := range as {
		if !x.NonRes || x.LowVCN != next {
			return nil, corrupt(fmt.Sprintf("record %d attribute %#x", f.base.Num, typ), -1, "extent starts at VCN %d, want %d", x.LowVCN, next)
		}
		s.runs = append(s.runs, x.Runs...)
		next = x.HighVCN + 1
	}
	if next*f.v.boot.ClusterSize < s.alloc && !s.compressed {
		return nil, corrupt(fmt.Sprintf("record %d attribute %#x", f.base.Num, typ), -1, "runlist maps %d clusters, allocated size %d", next, s.alloc)
	}
	if s.init > s.size {
		s.init = s.size
	}
	return s, nil
}

// readRecordData reads the unnamed $DATA of a record (small metadata files).
func (v *Volume) readRecordData(num uint64) ([]byte, error) {
	f, err := v.openFile(num)
	if err != nil {
		return nil, err
	}
	s, err := f.stream(atData, "")
	if err != nil {
		return nil, err
	}
	return s.readAll(64 << 20)
}

func (v *Volume) writable() error {
	switch {
	case v.closed:
		return ErrClosed
	case v.w == nil:
		return ErrReadOnly
	case v.err != nil:
		return fmt.Errorf("ntfs: earlier write failed: %w", v.err)
	}
	return nil
}

// ClusterSize returns the volume's cluster size in bytes.
func (v *Volume) ClusterSize() int64 { return v.boot.ClusterSize }

// RecordSize returns the MFT record size in bytes.
func (v *Volume) RecordSize() int { return v.boot.RecordSize }

// Version returns the NTFS version from $Volume.
func (v *Volume) Version() (major, minor uint8) { return v.major, v.minor }

var errStop = errors.New("stop")
