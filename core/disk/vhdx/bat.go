package vhdx

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"
)

// BAT entry states ([MS-VHDX] 2.5.1).
const (
	stateMask = 7

	payloadNotPresent = 0
	payloadUndefined  = 1
	payloadZero       = 2
	payloadUnmapped   = 3
	payloadFull       = 6
	payloadPartial    = 7

	bitmapNotPresent = 0
	bitmapPresent    = 6

	sectorBitmapSize = 1 * mib
)

// layout is the BAT geometry that follows from the metadata.
type layout struct {
	bs         int64 // payload block size
	lss        int64 // logical sector size
	chunkRatio int64 // payload blocks per sector bitmap block
	dataBlocks int64
	entries    int64 // BAT entries the disk needs
}

func newLayout(md metadata) layout {
	l := layout{bs: int64(md.BlockSize), lss: int64(md.LogicalSector)}
	l.chunkRatio = (1 << 23) * l.lss / l.bs
	l.dataBlocks = (int64(md.VirtualSize) + l.bs - 1) / l.bs
	if md.HasParent {
		l.entries = (l.dataBlocks + l.chunkRatio - 1) / l.chunkRatio * (l.chunkRatio + 1)
	} else {
		l.entries = l.dataBlocks + (l.dataBlocks-1)/l.chunkRatio
	}
	return l
}

// payloadIndex is the BAT index of payload block i: every chunkRatio
// payload entries are followed by one sector bitmap entry.
func (l *layout) payloadIndex(i int64) int64 { return i + i/l.chunkRatio }

// bitmapIndex is the BAT index of the sector bitmap of chunk c.
func (l *layout) bitmapIndex(c int64) int64 { return c*(l.chunkRatio+1) + l.chunkRatio }

func entryOffset(e uint64) int64 { return int64(e>>20) << 20 }

// parseBAT decodes the BAT and checks every entry's state and that what it
// points to lies inside the file. It returns the entry index and a reason
// on the first bad entry.
func parseBAT(raw []byte, l layout, vsize, fileSize int64, diff bool) ([]uint64, int64, string) {
	bat := make([]uint64, l.entries)
	for i := range bat {
		e := binary.LittleEndian.Uint64(raw[8*i:])
		bat[i] = e
		st := e & stateMask
		idx := int64(i)
		if (idx+1)%(l.chunkRatio+1) == 0 { // sector bitmap entry
			switch st {
			case bitmapNotPresent:
			case bitmapPresent:
				off := entryOffset(e)
				if off < headerAreaSize || off > fileSize-sectorBitmapSize {
					return nil, idx, fmt.Sprintf("sector bitmap at %d is outside the file (%d bytes)", off, fileSize)
				}
			default:
				return nil, idx, fmt.Sprintf("invalid sector bitmap state %d", st)
			}
			continue
		}
		blk := idx - idx/(l.chunkRatio+1)
		switch st {
		case payloadNotPresent, payloadUndefined, payloadZero, payloadUnmapped:
		case payloadPartial:
			if !diff {
				return nil, idx, "partially present block in a disk without parent"
			}
			bi := l.bitmapIndex(blk / l.chunkRatio)
			if bi >= int64(len(raw)/8) || binary.LittleEndian.Uint64(raw[8*bi:])&stateMask != bitmapPresent {
				return nil, idx, "partially present block without a sector bitmap"
			}
			fallthrough
		case payloadFull:
			off := entryOffset(e)
			need := min(l.bs, vsize-blk*l.bs)
			if off < headerAreaSize || off > fileSize || fileSize-off < need {
				return nil, idx, fmt.Sprintf("payload block %d at %d..%d is past the end of the file (%d bytes)", blk, off, off+need, fileSize)
			}
		default:
			return nil, idx, fmt.Sprintf("invalid payload block state %d", st)
		}
	}
	return bat, 0, ""
}

// span is a byte range of the file that one structure owns.
type span struct {
	off, end int64
	what     string
	entry    int64 // BAT index, -1 for regions
}

// checkOverlap refuses files where a payload block or sector bitmap shares
// space with another one or with the header area, log, BAT or metadata: a
// write through one would silently change the other.
func checkOverlap(bat []uint64, l layout, vsize int64, fixed []span) (int64, string) {
	spans := append([]span(nil), fixed...)
	for i, e := range bat {
		idx := int64(i)
		st := e & stateMask
		if (idx+1)%(l.chunkRatio+1) == 0 {
			if st == bitmapPresent {
				spans = append(spans, span{entryOffset(e), entryOffset(e) + sectorBitmapSize, "sector bitmap", idx})
			}
			continue
		}
		if st == payloadFull || st == payloadPartial {
			blk := idx - idx/(l.chunkRatio+1)
			spans = append(spans, span{entryOffset(e), entryOffset(e) + min(l.bs, vsize-blk*l.bs), "payload block", idx})
		}
	}
	slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(a.off, b.off) })
	for k := 1; k < len(spans); k++ {
		if a, b := spans[k-1], spans[k]; b.off < a.end {
			at := max(a.entry, b.entry)
			return at, fmt.Sprintf("%s at %d overlaps %s at %d", b.what, b.off, a.what, a.off)
		}
	}
	return 0, ""
}
