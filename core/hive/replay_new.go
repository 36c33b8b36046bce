package hive

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sort"
)

// hvleEntry is one checked HvLE log entry (Windows 8.1 and later).
type hvleEntry struct {
	log       string
	seq       uint32
	flags     uint32
	hbinsSize uint32
	pages     []dirtyPage
}

type dirtyPage struct {
	off  uint32 // relative to the hive bins data
	data []byte
}

const hvleHeaderSize = 40

// parseHVLE returns the log's entries up to the first one that is not
// valid (bad signature, size, hashes or page references): recovery stops
// there, as Windows does. Stale entries after the live ones are normal.
func parseHVLE(l logHeader) []hvleEntry {
	le := binary.LittleEndian
	d := l.Data
	var out []hvleEntry
	for off := logSector; off+hvleHeaderSize <= len(d) && len(out) < maxLogEntries; {
		e := d[off:]
		if !bytes.Equal(e[:4], []byte("HvLE")) {
			break
		}
		size := int(le.Uint32(e[4:]))
		if size < hvleHeaderSize || size%logSector != 0 || size > len(e) {
			break
		}
		e = e[:size]
		if le.Uint64(e[32:]) != marvin32(e[:32], hvleSeed) || le.Uint64(e[24:]) != marvin32(e[hvleHeaderSize:], hvleSeed) {
			break
		}
		ent := hvleEntry{log: l.Name, flags: le.Uint32(e[8:]), seq: le.Uint32(e[12:]), hbinsSize: le.Uint32(e[16:])}
		if ent.hbinsSize == 0 || ent.hbinsSize%binAlign != 0 || ent.hbinsSize > maxHiveSize {
			break
		}
		count := int(le.Uint32(e[20:]))
		refs := e[hvleHeaderSize:]
		if count > len(refs)/8 {
			break
		}
		body := refs[8*count:]
		ok := true
		for i := 0; i < count; i++ {
			po, ps := le.Uint32(refs[8*i:]), le.Uint32(refs[8*i+4:])
			if uint64(ps) > uint64(len(body)) || uint64(po)+uint64(ps) > uint64(ent.hbinsSize) {
				ok = false
				break
			}
			ent.pages = append(ent.pages, dirtyPage{off: po, data: body[:ps]})
			body = body[ps:]
		}
		if !ok {
			break
		}
		out = append(out, ent)
		off += size
	}
	return out
}

// replayNew applies new-format logs. Entries from both logs are applied
// in sequence order from the primary's secondary sequence number (or the
// first entry after it), one number at a time, stopping at the first gap:
// a missing number means later entries build on a state we do not have.
func replayNew(name string, data []byte, primary baseBlock, logs []logHeader, limit int64) ([]byte, *Replay, error) {
	sort.SliceStable(logs, func(i, j int) bool { return logs[i].bb.Seq1 < logs[j].bb.Seq1 })
	expected := primary.Seq2
	backup := logs[len(logs)-1].Data
	if !primary.ChecksumOK {
		// The primary's base block cannot be trusted: take the backup from
		// the log with the latest entries, and only that log.
		latest := logs[len(logs)-1]
		logs = []logHeader{latest}
		expected = latest.bb.Seq1
	}
	bySeq := map[uint32]hvleEntry{}
	var unreadable []uint32 // sequence numbers of logs whose first entry is bad
	for _, l := range logs {
		ents := parseHVLE(l)
		// A log's live entries start at offset 512 with the number its
		// header carries and count up by one; what follows a break is left
		// over from an older generation of the log and must not be used.
		if len(ents) == 0 || ents[0].seq != l.bb.Seq1 {
			unreadable = append(unreadable, l.bb.Seq1)
			continue
		}
		for i, e := range ents {
			if i > 0 && e.seq != ents[i-1].seq+1 {
				break
			}
			bySeq[e.seq] = e // a later log wins a duplicate number
		}
	}
	// Usually the first entry to apply carries the primary's secondary
	// sequence number. After a "partial reconcile" (Windows rotated both
	// logs before fully updating the primary) the primary already holds
	// the data of the missing numbers and the base block was not updated:
	// then the earliest entry at or above that number is where to start.
	start, found := expected, false
	for seq := range bySeq {
		if seq >= expected && (!found || seq < start) {
			start, found = seq, true
		}
	}
	// Starting late is only sound when both logs are here and nothing we
	// have claims the skipped numbers: a log whose header says it begins
	// inside the gap but whose first entry cannot be read is damaged, not
	// reconciled.
	if found && start > expected && len(logs) < 2 {
		return nil, nil, fmt.Errorf("%w: the hive needs log entries from sequence number %d but the only log given starts at %d; the other log (.LOG1/.LOG2) is missing", ErrLog, expected, start)
	}
	for _, u := range unreadable {
		if found && start > expected && u >= expected && u < start {
			return nil, nil, fmt.Errorf("%w: the log starting at sequence number %d is damaged, so entries %d to %d are missing", ErrLog, u, expected, start-1)
		}
	}
	var apply []hvleEntry
	for seq := start; found; seq++ {
		e, ok := bySeq[seq]
		if !ok {
			break
		}
		apply = append(apply, e)
		if seq == ^uint32(0) {
			break
		}
	}
	if len(apply) == 0 {
		return nil, nil, fmt.Errorf("%w: no log entry has sequence number %d or later, which the dirty hive needs (logs hold %d valid entries for other writes)",
			ErrLog, expected, len(bySeq))
	}
	last := apply[len(apply)-1]
	out, err := recoveredImage(data, primary, backup, last.hbinsSize, limit)
	if err != nil {
		return nil, nil, err
	}
	rep := &Replay{Format: "new", Entries: len(apply), Sequence: last.seq}
	le := binary.LittleEndian
	for _, e := range apply {
		for _, p := range e.pages {
			// An entry written before the hive shrank may reach past the final
			// size; those bytes are no longer part of the hive.
			if int(p.off) < int(last.hbinsSize) {
				copy(out[baseBlockSize+int(p.off):], p.data)
			}
			rep.Pages++
		}
		flags := le.Uint32(out[offBaseFlags:])&^1 | e.flags&1
		le.PutUint32(out[offBaseFlags:], flags)
		if len(rep.Logs) == 0 || rep.Logs[len(rep.Logs)-1] != e.log {
			rep.Logs = append(rep.Logs, e.log)
		}
	}
	sealHeader(out, last.seq, last.hbinsSize)
	return out, rep, nil
}
