package hive

import (
	"bytes"
	"fmt"
)

// Replay reports a transaction-log recovery done at Open.
type Replay struct {
	Format   string   // "old" (DIRT dirty vector) or "new" (HvLE entries)
	Logs     []string // names of the logs applied, in order
	Entries  int      // HvLE entries applied (new format)
	Pages    int      // dirty pages written into the hive
	Sequence uint32   // sequence number of the recovered hive
}

const (
	logSector     = 512
	offBaseFlags  = 144
	maxLogEntries = 1 << 20
)

// logHeader is a usable log file: a valid backup base block.
type logHeader struct {
	LogFile
	bb baseBlock
}

// parseLogs keeps the logs whose backup base block is valid (signature,
// checksum, equal sequence numbers); empty or zeroed logs, which Windows
// leaves around routinely, are skipped rather than treated as damage.
func parseLogs(logs []LogFile) (old, new []logHeader, problems []string) {
	for _, l := range logs {
		if len(l.Data) == 0 || allZero(head(l.Data, logSector)) {
			continue
		}
		bb, err := parseBaseBlock(l.Name, l.Data)
		switch {
		case err != nil:
			problems = append(problems, err.Error())
		case !bb.ChecksumOK:
			problems = append(problems, fmt.Sprintf("%s: backup base block checksum is wrong", l.Name))
		case bb.Seq1 != bb.Seq2:
			problems = append(problems, fmt.Sprintf("%s: backup base block sequence numbers %d and %d differ (log write was interrupted)", l.Name, bb.Seq1, bb.Seq2))
		case bb.FileType == fileTypeLogNew:
			new = append(new, logHeader{l, bb})
		case bb.FileType == fileTypeLogOld || bb.FileType == 2: // 2: Windows 2000
			old = append(old, logHeader{l, bb})
		default:
			problems = append(problems, fmt.Sprintf("%s: file type %d is not a transaction log", l.Name, bb.FileType))
		}
	}
	return old, new, problems
}

// replayLogs applies transaction logs to a dirty primary file and returns
// the recovered hive, with a consistent header (equal sequence numbers,
// the final hive bins size, recomputed checksum) and a structure that
// passes the pure-Go check. data is not modified.
func replayLogs(name string, data []byte, logs []LogFile) ([]byte, *Replay, error) {
	primary, err := parseBaseBlock(name, data)
	if err != nil {
		return nil, nil, err
	}
	// Every byte of the recovered hive comes from the primary or a log, so
	// that bounds the hive bins size a log may ask for (and the allocation).
	limit := int64(len(data))
	for _, l := range logs {
		limit += int64(len(l.Data))
	}
	old, nw, problems := parseLogs(logs)
	var out []byte
	var rep *Replay
	switch {
	case len(nw) > 0:
		out, rep, err = replayNew(name, data, primary, nw, limit)
	case len(old) > 0:
		out, rep, err = replayOld(name, data, primary, old, limit)
	default:
		err = fmt.Errorf("%w: no valid log among %d given %v", ErrLog, len(logs), problems)
	}
	if err != nil {
		return nil, nil, err
	}
	if _, err := checkClean(name, out); err != nil {
		return nil, nil, fmt.Errorf("%w: hive after replaying %v is not consistent: %w", ErrLog, rep.Logs, err)
	}
	return out, rep, nil
}

// recoveredImage starts the recovered file: the primary's base block (or
// the log's backup when the primary's is damaged) and its hive bins,
// sized for hbinsSize.
func recoveredImage(data []byte, primary baseBlock, backup []byte, hbinsSize uint32, limit int64) ([]byte, error) {
	if hbinsSize == 0 || hbinsSize%binAlign != 0 || hbinsSize > maxHiveSize || int64(hbinsSize) > limit {
		return nil, fmt.Errorf("%w: hive bins size 0x%x in log is impossible for %d bytes of hive and logs", ErrLog, hbinsSize, limit)
	}
	// The file keeps at least its old length, as Windows leaves it: hive
	// files often carry slack after the last bin, and keeping the size
	// spares the NTFS layer a resize.
	out := make([]byte, max(len(data), baseBlockSize+int(hbinsSize)))
	copy(out, data)
	if !primary.ChecksumOK {
		clear(out[:baseBlockSize])
		copy(out, backup[:logSector])
	}
	return out, nil
}

// replayOld applies an old-format log (Windows XP to 8): base block, a
// "DIRT" bitmap of 512-byte hive-bin pages, then those pages in order.
func replayOld(name string, data []byte, primary baseBlock, logs []logHeader, limit int64) ([]byte, *Replay, error) {
	// A log applies when its base block was written with the primary's
	// (equal timestamps); if the primary's header is damaged, the most
	// recent valid log is all there is.
	var use *logHeader
	for i := range logs {
		l := &logs[i]
		if primary.ChecksumOK && l.bb.Timestamp != primary.Timestamp {
			continue
		}
		if use == nil || l.bb.Seq1 > use.bb.Seq1 {
			use = l
		}
	}
	if use == nil {
		return nil, nil, fmt.Errorf("%w: no log's base block timestamp matches the hive's (logs belong to another write)", ErrLog)
	}
	hbins := use.bb.HbinsSize
	out, err := recoveredImage(data, primary, use.Data, hbins, limit)
	if err != nil {
		return nil, nil, err
	}
	d := use.Data
	if len(d) < logSector+4 || !bytes.Equal(d[logSector:logSector+4], []byte("DIRT")) {
		return nil, nil, formatErr(use.Name, logSector, "dirty vector", ErrLog, "no DIRT signature")
	}
	pagesCount := int(hbins / logSector)
	bitmapLen := (pagesCount + 7) / 8
	bitmapEnd := logSector + 4 + bitmapLen
	if bitmapEnd > len(d) {
		return nil, nil, formatErr(use.Name, logSector, "dirty vector", ErrLog, "bitmap of %d bytes is truncated", bitmapLen)
	}
	bitmap := d[logSector+4 : bitmapEnd]
	next := (bitmapEnd + logSector - 1) / logSector * logSector
	applied := 0
	for i := 0; i < pagesCount; i++ {
		if bitmap[i/8]&(1<<(i%8)) == 0 {
			continue
		}
		if next+logSector > len(d) {
			return nil, nil, formatErr(use.Name, int64(next), "dirty page", ErrLog, "log ends before dirty page %d", applied+1)
		}
		copy(out[baseBlockSize+i*logSector:], d[next:next+logSector])
		next += logSector
		applied++
	}
	seq := max(primary.Seq1, use.bb.Seq1)
	sealHeader(out, seq, hbins)
	return out, &Replay{Format: "old", Logs: []string{use.Name}, Pages: applied, Sequence: seq}, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
