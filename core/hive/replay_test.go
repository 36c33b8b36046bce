package hive

import (
	"encoding/binary"
	"errors"
	"testing"
)

// hvleLog builds a new-format log holding entries; each entry replaces
// one 4 KiB page. It mirrors the specification, not the parser.
func hvleLog(base []byte, headerSeq uint32, entries ...hvleEntry) []byte {
	le := binary.LittleEndian
	h := append([]byte{}, base[:logSector]...)
	le.PutUint32(h[offSeq1:], headerSeq)
	le.PutUint32(h[offSeq2:], headerSeq)
	le.PutUint32(h[offFileType:], fileTypeLogNew)
	le.PutUint32(h[offChecksum:], xorChecksum(h))
	for _, e := range entries {
		body := []byte{}
		for _, p := range e.pages {
			body = le.AppendUint32(body, p.off)
			body = le.AppendUint32(body, uint32(len(p.data)))
		}
		for _, p := range e.pages {
			body = append(body, p.data...)
		}
		size := (hvleHeaderSize + len(body) + logSector - 1) / logSector * logSector
		ent := make([]byte, size)
		copy(ent, "HvLE")
		le.PutUint32(ent[4:], uint32(size))
		le.PutUint32(ent[12:], e.seq)
		le.PutUint32(ent[16:], e.hbinsSize)
		le.PutUint32(ent[20:], uint32(len(e.pages)))
		copy(ent[hvleHeaderSize:], body)
		le.PutUint64(ent[24:], marvin32(ent[hvleHeaderSize:], hvleSeed))
		le.PutUint64(ent[32:], marvin32(ent[:32], hvleSeed))
		h = append(h, ent...)
	}
	return h
}

// TestReplaySequenceRules uses entries that each leave a consistent hive
// (they only change Select\Current's inline data), so only the sequence
// rules, not the structural check, decide the outcome.
func TestReplaySequenceRules(t *testing.T) {
	clean := fixture(t, "system.hive")
	r, bb, err := newReader("system", clean)
	if err != nil {
		t.Fatal(err)
	}
	sel, _, _ := r.lookup([]string{"Select"})
	vks, _ := r.valueRecords(sel)
	var cur vkRecord
	for _, v := range vks {
		if decodeName(v.rawName, v.compName) == "Current" {
			cur = v
		}
	}
	dataAt := int(cur.off) + 4 + 8 // cell header, then the vk's data offset field
	page := uint32(dataAt) &^ (binAlign - 1)
	withCurrent := func(n uint32) []byte {
		p := append([]byte{}, clean[baseBlockSize+int(page):baseBlockSize+int(page)+binAlign]...)
		binary.LittleEndian.PutUint32(p[dataAt-int(page):], n)
		return p
	}
	seq := uint32(5000)
	dirty := append([]byte{}, clean...)
	binary.LittleEndian.PutUint32(dirty[offSeq1:], seq+1)
	binary.LittleEndian.PutUint32(dirty[offSeq2:], seq)
	binary.LittleEndian.PutUint32(dirty[offChecksum:], xorChecksum(dirty))
	entry := func(s, current uint32) hvleEntry {
		return hvleEntry{seq: s, hbinsSize: bb.HbinsSize, pages: []dirtyPage{{off: page, data: withCurrent(current)}}}
	}
	log1 := hvleLog(clean, seq, entry(seq, 5))
	log2 := hvleLog(clean, seq+1, entry(seq+1, 6), entry(seq-7, 99)) // plus a stale entry
	broken := append([]byte{}, log1...)
	broken[logSector+hvleHeaderSize+100] ^= 1
	lateStart := append([]byte{}, dirty...) // partial reconcile: primary says seq-10
	binary.LittleEndian.PutUint32(lateStart[offSeq1:], seq-9)
	binary.LittleEndian.PutUint32(lateStart[offSeq2:], seq-10)
	binary.LittleEndian.PutUint32(lateStart[offChecksum:], xorChecksum(lateStart))

	for _, tc := range []struct {
		name    string
		hive    []byte
		logs    [][]byte
		current uint32 // 0: replay must fail
	}{
		{"both logs", dirty, [][]byte{log1, log2}, 6},
		{"logs swapped", dirty, [][]byte{log2, log1}, 6},
		{"LOG1 only: stop at the gap, as Windows does", dirty, [][]byte{log1}, 5},
		{"LOG2 only: entries before it are missing", dirty, [][]byte{log2}, 0},
		{"LOG1 damaged", dirty, [][]byte{broken, log2}, 0},
		{"partial reconcile", lateStart, [][]byte{log1, log2}, 6},
		{"partial reconcile, one log", lateStart, [][]byte{log2}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs []LogFile
			for i, l := range tc.logs {
				logs = append(logs, LogFile{Name: []string{"LOG1", "LOG2"}[i], Data: l})
			}
			out, rep, err := replayLogs("system", tc.hive, logs)
			if tc.current == 0 {
				if !errors.Is(err, ErrLog) {
					t.Fatalf("replay: %v, want ErrLog", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			r, nb, err := newReader("out", out)
			if err != nil {
				t.Fatal(err)
			}
			k, _, _ := r.lookup([]string{"Select"})
			v, _, _ := r.value(k, "Current")
			if n, _ := v.Uint32(); n != tc.current {
				t.Errorf("Current = %d, want %d (%+v)", n, tc.current, rep)
			}
			if nb.Seq1 != nb.Seq2 || nb.Seq1 != rep.Sequence {
				t.Errorf("header seqs %d/%d, report %d", nb.Seq1, nb.Seq2, rep.Sequence)
			}
		})
	}
}
