package ntfs

import "fmt"

// run is one extent of a non-resident attribute: Length clusters starting at
// LCN, or a sparse hole when LCN is -1.
type run struct {
	LCN    int64
	Length int64
}

const sparseLCN = -1

// maxRuns bounds a decoded runlist; a 64 KiB record cannot hold more.
const maxRuns = 1 << 16

// decodeRuns decodes mapping pairs. clusters bounds every LCN (0 disables).
func decodeRuns(b []byte, clusters int64) ([]run, error) {
	var runs []run
	var lcn int64
	for i := 0; i < len(b); {
		h := b[i]
		if h == 0 {
			return runs, nil
		}
		ln, on := int(h&0x0f), int(h>>4)
		if ln == 0 || ln > 8 || on > 8 || i+1+ln+on > len(b) {
			return nil, fmt.Errorf("%w: mapping pair header %#x at byte %d", ErrCorrupt, h, i)
		}
		length := readSigned(b[i+1 : i+1+ln])
		if length <= 0 {
			return nil, fmt.Errorf("%w: run length %d at byte %d", ErrCorrupt, length, i)
		}
		r := run{Length: length, LCN: sparseLCN}
		if on > 0 {
			lcn += readSigned(b[i+1+ln : i+1+ln+on])
			if lcn < 0 || (clusters > 0 && (lcn >= clusters || length > clusters-lcn)) {
				return nil, fmt.Errorf("%w: run at LCN %d length %d outside volume", ErrCorrupt, lcn, length)
			}
			r.LCN = lcn
		}
		if len(runs) >= maxRuns {
			return nil, fmt.Errorf("%w: more than %d runs", ErrCorrupt, maxRuns)
		}
		runs = append(runs, r)
		i += 1 + ln + on
	}
	return nil, fmt.Errorf("%w: mapping pairs not terminated", ErrCorrupt)
}

func readSigned(b []byte) int64 {
	var v int64
	for i := len(b) - 1; i >= 0; i-- {
		v = v<<8 | int64(b[i])
	}
	shift := uint(64 - 8*len(b))
	return v << shift >> shift
}

// signedLen is the number of bytes needed to store v as a little-endian
// two's complement integer.
func signedLen(v int64) int {
	n := 1
	for v < -128 || v > 127 {
		v >>= 8
		n++
	}
	return n
}

// encodeRuns encodes mapping pairs, terminated by a zero byte.
func encodeRuns(runs []run) []byte {
	out := make([]byte, 0, len(runs)*8+1)
	var prev int64
	for _, r := range runs {
		ln := signedLen(r.Length)
		on := 0
		var delta int64
		if r.LCN != sparseLCN {
			delta = r.LCN - prev
			on = signedLen(delta)
			prev = r.LCN
		}
		out = append(out, byte(on<<4|ln))
		for i := 0; i < ln; i++ {
			out = append(out, byte(r.Length>>(8*i)))
		}
		for i := 0; i < on; i++ {
			out = append(out, byte(delta>>(8*i)))
		}
	}
	return append(out, 0)
}

// runsClusters totals the clusters a runlist maps.
func runsClusters(runs []run) int64 {
	var n int64
	for _, r := range runs {
		n += r.Length
	}
	return n
}

// truncateRuns keeps the first n clusters and returns the dropped extents.
func truncateRuns(runs []run, n int64) (kept, dropped []run) {
	var at int64
	for i, r := range runs {
		if at+r.Length <= n {
			at += r.Length
			continue
		}
		keep := n - at
		kept = append([]run(nil), runs[:i]...)
		if keep > 0 {
			kept = append(kept, run{LCN: r.LCN, Length: keep})
		}
		tail := run{LCN: r.LCN, Length: r.Length - keep}
		if r.LCN != sparseLCN {
			tail.LCN = r.LCN + keep
		}
		dropped = append([]run{tail}, runs[i+1:]...)
		return kept, dropped
	}
	return runs, nil
}

// appendRun adds an extent, merging it with the last one when contiguous.
func appendRun(runs []run, r run) []run {
	if n := len(runs); n > 0 {
		last := &runs[n-1]
		if (last.LCN == sparseLCN && r.LCN == sparseLCN) || (last.LCN != sparseLCN && r.LCN == last.LCN+last.Length) {
			last.Length += r.Length
			return runs
		}
	}
	return append(runs, r)
}
