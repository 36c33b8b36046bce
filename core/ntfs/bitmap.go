package ntfs

import "fmt"

// clusterBitmap caches the parts of $Bitmap that allocation touched. It
// reads the bitmap in chunks, so allocating near existing data never scans
// the whole volume.
type clusterBitmap struct {
	v      *Volume
	s      *stream
	chunks map[int64][]byte
	dirty  map[int64]bool
}

const bitmapChunk = 64 << 10 // bytes per cached chunk: 512 Ki clusters

func (v *Volume) clusterBitmap() (*clusterBitmap, error) {
	if v.bitmap != nil {
		return v.bitmap, nil
	}
	f, err := v.openFile(recBitmap)
	if err != nil {
		return nil, err
	}
	s, err := f.stream(atData, "")
	if err != nil {
		return nil, fmt.Errorf("ntfs: $Bitmap: %w", err)
	}
	if s.size*8 < v.boot.TotalClusters {
		return nil, corrupt("$Bitmap", -1, "%d bytes cannot cover %d clusters", s.size, v.boot.TotalClusters)
	}
	v.bitmap = &clusterBitmap{v: v, s: s, chunks: map[int64][]byte{}, dirty: map[int64]bool{}}
	return v.bitmap, nil
}

func (bm *clusterBitmap) chunk(i int64) ([]byte, error) {
	if c, ok := bm.chunks[i]; ok {
		return c, nil
	}
	off := i * bitmapChunk
	n := min(int64(bitmapChunk), bm.s.size-off)
	if n <= 0 {
		return nil, fmt.Errorf("ntfs: $Bitmap chunk %d beyond %d bytes: %w", i, bm.s.size, ErrCorrupt)
	}
	c := make([]byte, n)
	if err := bm.s.readFull(c, off); err != nil {
		return nil, fmt.Errorf("ntfs: read $Bitmap: %w", err)
	}
	bm.chunks[i] = c
	return c, nil
}

func (bm *clusterBitmap) get(lcn int64) (bool, error) {
	c, err := bm.chunk(lcn / (bitmapChunk * 8))
	if err != nil {
		return false, err
	}
	bit := lcn % (bitmapChunk * 8)
	return c[bit/8]&(1<<(bit%8)) != 0, nil
}

func (bm *clusterBitmap) set(lcn, n int64, used bool) error {
	for ; n > 0; n, lcn = n-1, lcn+1 {
		ci := lcn / (bitmapChunk * 8)
		c, err := bm.chunk(ci)
		if err != nil {
			return err
		}
		bit := lcn % (bitmapChunk * 8)
		if used {
			c[bit/8] |= 1 << (bit % 8)
		} else {
			c[bit/8] &^= 1 << (bit % 8)
		}
		bm.dirty[ci] = true
	}
	return nil
}

// allocate finds n clusters, preferring one contiguous extent at or after
// hint, then any extent after it, then wrapping around; it marks them used.
func (bm *clusterBitmap) allocate(n, hint int64) ([]run, error) {
	total := bm.v.boot.TotalClusters
	if hint < 0 || hint >= total {
		hint = 0
	}
	// First pass: a single extent large enough. Second: first fit pieces.
	for pass := 0; pass < 2; pass++ {
		var got []run
		need := n
		start, length := int64(-1), int64(0)
		for i := int64(0); i < total && need > 0; i++ {
			lcn := (hint + i) % total
			if lcn == 0 && i > 0 {
				// wrapped: a run cannot continue across the end
				if pass == 1 && length > 0 {
					got = append(got, run{LCN: start, Length: length})
					need -= length
				}
				start, length = -1, 0
			}
			// Skip fully used bytes at once when not inside a free run.
			if start < 0 && lcn%8 == 0 && lcn+8 <= total {
				c, err := bm.chunk(lcn / (bitmapChunk * 8))
				if err != nil {
					return nil, err
				}
				if c[(lcn%(bitmapChunk*8))/8] == 0xff {
					i += 7
					continue
				}
			}
			used, err := bm.get(lcn)
			if err != nil {
				return nil, err
			}
			if !used {
				if start < 0 {
					start = lcn
				}
				length++
				if pass == 0 && length == n {
					got = []run{{LCN: start, Length: n}}
					need = 0
					break
				}
				if pass == 1 && length == need {
					got = append(got, run{LCN: start, Length: length})
					need = 0
					break
				}
				continue
			}
			if pass == 1 && length > 0 {
				got = append(got, run{LCN: start, Length: length})
				need -= length
			}
			start, length = -1, 0
		}
		if need == 0 {
			for _, r := range got {
				if err := bm.set(r.LCN, r.Length, true); err != nil {
					return nil, err
				}
			}
			return got, nil
		}
	}
	return nil, fmt.Errorf("%w: need %d clusters", ErrNoSpace, n)
}

// hasFree reports whether at least n clusters are free, reading the
// bitmap only until it has counted them.
func (bm *clusterBitmap) hasFree(n int64) (bool, error) {
	total := bm.v.boot.TotalClusters
	var got int64
	for lcn := int64(0); lcn < total && got < n; {
		c, err := bm.chunk(lcn / (bitmapChunk * 8))
		if err != nil {
			return false, err
		}
		if lcn%8 == 0 && lcn+8 <= total {
			switch c[(lcn%(bitmapChunk*8))/8] {
			case 0xff:
				lcn += 8
				continue
			case 0:
				got += 8
				lcn += 8
				continue
			}
		}
		used, err := bm.get(lcn)
		if err != nil {
			return false, err
		}
		if !used {
			got++
		}
		lcn++
	}
	return got >= n, nil
}

// release frees the clusters of runs (sparse runs are skipped).
func (bm *clusterBitmap) release(runs []run) error {
	for _, r := range runs {
		if r.LCN != sparseLCN {
			if err := bm.set(r.LCN, r.Length, false); err != nil {
				return err
			}
		}
	}
	return nil
}

func (bm *clusterBitmap) flush() error {
	for ci := range bm.dirty {
		if err := bm.s.writeFull(bm.chunks[ci], ci*bitmapChunk); err != nil {
			return fmt.Errorf("ntfs: write $Bitmap: %w", err)
		}
		delete(bm.dirty, ci)
	}
	return nil
}
