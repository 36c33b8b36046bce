package vhdx

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"

	"github.com/pvinject/pvinject/core/disk"
)

// ErrLogNotEmpty: the VHDX log holds entries that pvinject cannot replay;
// the file must be replayed by another tool before its metadata can be
// trusted.
var ErrLogNotEmpty = errors.New("vhdx: the log is not empty (the image was not closed cleanly) and cannot be replayed here; " +
	"replay it first by attaching the disk once in Hyper-V or Windows (Mount-VHD), " +
	"or with `qemu-img check -r all FILE`, then try again")

const (
	logSectorSize = 4 * kib
	// maxLogLength bounds the log read into memory; Hyper-V uses 1 MiB.
	maxLogLength = 256 * mib
	// maxGrowth bounds how far past the end of the file a log may write:
	// a log only covers what was in flight at the crash.
	maxGrowth     = 1 << 30
	logHeaderSize = 64
	descSize      = 32
)

var (
	logEntrySignature = []byte("loge")
	descData          = []byte("desc")
	descZero          = []byte("zero")
	dataSignature     = []byte("data")
)

// logOp is one write of a log entry: data (4 KiB) or, when data is nil,
// zeros of length n.
type logOp struct {
	off  int64
	n    int64
	data []byte
}

// logEntry is a decoded, checked log entry.
type logEntry struct {
	pos     int64 // offset in the log
	length  int64
	tail    int64
	seq     uint64
	flushed int64 // FlushedFileOffset
	last    int64 // LastFileOffset
	ops     []logOp
}

// parseLogEntry decodes the entry at pos of the circular log, or returns
// nil when there is no valid entry of log id there ([MS-VHDX] 2.3.1).
func parseLogEntry(log []byte, pos int64, id guid) *logEntry {
	n := int64(len(log))
	h := log[pos:]
	if len(h) < logHeaderSize || !bytes.Equal(h[:4], logEntrySignature) {
		return nil
	}
	le := binary.LittleEndian
	e := &logEntry{pos: pos, length: int64(le.Uint32(h[8:])), tail: int64(le.Uint32(h[12:])), seq: le.Uint64(h[16:])}
	count := int64(le.Uint32(h[24:]))
	var g guid
	copy(g[:], h[32:48])
	e.flushed, e.last = int64(le.Uint64(h[48:])), int64(le.Uint64(h[56:]))
	if g != id || e.length < logSectorSize || e.length%logSectorSize != 0 || e.length > n ||
		e.tail%logSectorSize != 0 || e.tail >= n || e.seq == 0 || e.flushed < 0 || e.last < 0 {
		return nil
	}
	descArea := (logHeaderSize + descSize*count + logSectorSize - 1) / logSectorSize * logSectorSize
	if descArea > e.length {
		return nil
	}
	b := make([]byte, e.length)
	for i := int64(0); i < e.length; {
		p := (pos + i) % n
		i += int64(copy(b[i:], log[p:min(n, p+e.length-i)]))
	}
	if le.Uint32(b[4:]) != crcOf(b, 4) {
		return nil
	}
	data := descArea
	for i := range count {
		d := b[logHeaderSize+descSize*i:]
		off := int64(le.Uint64(d[16:]))
		if le.Uint64(d[24:]) != e.seq || off < 0 || off%logSectorSize != 0 {
			return nil
		}
		switch {
		case bytes.Equal(d[:4], descZero):
			zl := int64(le.Uint64(d[8:]))
			if zl <= 0 || zl%logSectorSize != 0 {
				return nil
			}
			e.ops = append(e.ops, logOp{off: off, n: zl})
		case bytes.Equal(d[:4], descData):
			if data+logSectorSize > e.length {
				return nil
			}
			s := b[data : data+logSectorSize]
			if !bytes.Equal(s[:4], dataSignature) || le.Uint32(s[4:]) != uint32(e.seq>>32) || le.Uint32(s[4092:]) != uint32(e.seq) {
				return nil
			}
			sector := make([]byte, logSectorSize)
			copy(sector, d[8:16])       // leading bytes
			copy(sector[8:], s[8:4092]) // data
			copy(sector[4092:], d[4:8]) // trailing bytes
			e.ops = append(e.ops, logOp{off: off, n: logSectorSize, data: sector})
			data += logSectorSize
		default:
			return nil
		}
	}
	return e
}

// activeSequence finds the entries to replay, following the search in
// [MS-VHDX] 2.3.3: from each tail position, extend a run of valid entries
// with consecutive sequence numbers; the run is a valid sequence when its
// head's tail points at one of its entries; the valid sequence with the
// highest head sequence number is the active one, and the entries from the
// head's tail to the head are replayed. nil means there is none.
func activeSequence(log []byte, id guid) []*logEntry {
	n := int64(len(log))
	if n == 0 || n%logSectorSize != 0 {
		return nil
	}
	parsed := map[int64]*logEntry{}
	entryAt := func(pos int64) *logEntry {
		e, ok := parsed[pos]
		if !ok {
			e = parseLogEntry(log, pos, id)
			parsed[pos] = e
		}
		return e
	}
	var active []*logEntry
	var activeSeq uint64
	cur, old := int64(0), int64(0)
	for {
		var run []*logEntry
		pos := cur
		for int64(len(run)) < n/logSectorSize {
			e := entryAt(pos)
			if e == nil || (len(run) > 0 && e.seq != run[len(run)-1].seq+1) {
				break
			}
			run = append(run, e)
			pos = (pos + e.length) % n
		}
		valid := -1
		if len(run) > 0 {
			head := run[len(run)-1]
			for i, e := range run {
				if e.pos == head.tail {
					valid = i
					break
				}
			}
			if valid >= 0 && head.seq > activeSeq {
				active, activeSeq = run[valid:], head.seq
			}
		}
		if valid < 0 {
			cur = (cur + logSectorSize) % n
		} else {
			cur = pos
		}
		if cur <= old {
			return active
		}
		old = cur
	}
}

// replayLog applies a non-empty log ([MS-VHDX] 2.3.3). A writable image
// gets the log's writes in its file, which is then synced and its headers
// marked log-free; a read-only image gets them in an in-memory overlay
// and the file is left untouched. The log is refused (ErrLogNotEmpty)
// when it has entries that cannot be replayed safely.
func (m *Image) replayLog(fileSize int64) (bool, error) {
	h := m.hdr
	if h.LogGUID.isZero() {
		return false, nil
	}
	length := int64(h.LogLength)
	if length > maxLogLength {
		return false, formatErr(m.path, "header", -1, "log of %d bytes is larger than %d", length, maxLogLength)
	}
	log := make([]byte, length)
	if err := readFull(m.b, log, int64(h.LogOffset)); err != nil {
		return false, fmt.Errorf("vhdx: read log of %s: %w", m.path, err)
	}
	refuse := func(format string, args ...any) (bool, error) {
		return false, &disk.FormatError{File: m.path, Format: "vhdx", Structure: "log", Offset: int64(h.LogOffset),
			Reason: fmt.Sprintf(format, args...), Err: ErrLogNotEmpty}
	}
	seq := activeSequence(log, h.LogGUID)
	if seq == nil {
		return refuse("the header names log %s but the log holds no valid sequence of entries: the file is corrupt", h.LogGUID)
	}
	head := seq[len(seq)-1]
	if fileSize < head.flushed {
		return refuse("the file (%d bytes) is shorter than the %d bytes the log recorded: it was truncated", fileSize, head.flushed)
	}
	// Bounded: a log only covers what was in flight when the writer stopped.
	limit := fileSize + maxGrowth
	if head.last > limit {
		return refuse("log entry %d claims a file of %d bytes, the file has %d", head.seq, head.last, fileSize)
	}
	var ops []logOp
	newSize := max(fileSize, head.last)
	for _, e := range seq {
		for _, op := range e.ops {
			if op.off > limit || op.n > limit-op.off {
				return refuse("log entry %d writes %d bytes at %d, far past the end of the file (%d bytes)", e.seq, op.n, op.off, fileSize)
			}
			if op.off < headerAreaSize && !(op.off >= header1Offset && op.off+op.n <= region2Offset+regionSize) {
				return refuse("log entry %d writes over the file identifier", e.seq)
			}
			ops = append(ops, op)
			newSize = max(newSize, op.off+op.n)
		}
	}
	if !m.writable {
		slog.Info("vhdx: replaying the log in memory (the file is opened read-only and stays untouched)", "file", m.path, "entries", len(seq))
		m.b = &overlay{Backing: m.b, ops: ops, size: newSize}
		return true, nil
	}
	slog.Info("vhdx: replaying the log into the file", "file", m.path, "entries", len(seq))
	if newSize > fileSize {
		if err := m.b.Truncate(newSize); err != nil {
			return false, fmt.Errorf("vhdx: replay log of %s: %w", m.path, err)
		}
	}
	for _, op := range ops {
		data := op.data
		for done := int64(0); done < op.n; {
			c := min(op.n-done, mib)
			if data == nil {
				data = make([]byte, min(op.n, mib))
			}
			if _, err := m.b.WriteAt(data[:c], op.off+done); err != nil {
				return false, fmt.Errorf("vhdx: replay log of %s: %w", m.path, err)
			}
			done += c
		}
	}
	if err := m.b.Sync(); err != nil {
		return false, fmt.Errorf("vhdx: replay log of %s: %w", m.path, err)
	}
	return true, nil
}

// overlay is a read-only view of a backing with a replayed log applied.
type overlay struct {
	disk.Backing
	ops  []logOp
	size int64
}

func (o *overlay) Size() (int64, error) { return o.size, nil }

func (o *overlay) ReadAt(p []byte, off int64) (int, error) {
	n, err := o.Backing.ReadAt(p, off)
	if n < len(p) && off+int64(len(p)) <= o.size {
		clear(p[n:]) // grown by the log: zeros past the old end
		n, err = len(p), nil
	}
	end := off + int64(len(p))
	for _, op := range o.ops {
		lo, hi := max(off, op.off), min(end, op.off+op.n)
		if lo >= hi {
			continue
		}
		if op.data == nil {
			clear(p[lo-off : hi-off])
		} else {
			copy(p[lo-off:hi-off], op.data[lo-op.off:hi-op.off])
		}
	}
	return n, err
}

func (o *overlay) WriteAt(p []byte, off int64) (int, error) { return 0, disk.ErrReadOnly }
func (o *overlay) Truncate(int64) error                     { return disk.ErrReadOnly }
