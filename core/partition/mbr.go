package partition

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/diskfs/go-diskfs/partition/mbr"
)

// maxLogical bounds an EBR chain: more links than this is a loop or junk.
const maxLogical = 256

// readMBR reads the primary entries with go-diskfs, then follows extended
// partitions. Logical partitions are numbered from 5, as Linux and sfdisk do.
func readMBR(r io.ReaderAt, size int64, sector int64) ([]Partition, string, error) {
	t, err := mbr.Read(&readerFile{r: r, size: size}, int(sector), int(sector))
	if err != nil {
		return nil, "", fmt.Errorf("MBR: %w", err)
	}
	var out, logical []Partition
	for _, p := range t.Partitions {
		if p == nil || p.Type == mbr.Empty || p.Size == 0 {
			continue
		}
		tp := byte(p.Type)
		start, length := int64(p.Start)*sector, int64(p.Size)*sector
		if isExtended(tp) {
			if logical != nil {
				return nil, "", fmt.Errorf("MBR: more than one extended partition")
			}
			l, err := readEBRChain(r, size, sector, int64(p.Start), int64(p.Size))
			if err != nil {
				return nil, "", err
			}
			logical = append([]Partition{}, l...)
			continue
		}
		out = append(out, Partition{
			Index: p.Index, Start: start, Size: length,
			Type: mbrTypeString(tp), TypeName: mbrTypeName(tp), Bootable: p.Bootable,
		})
	}
	// Logical partitions come after the primaries, numbered from 5.
	return append(out, logical...), t.UUID(), nil
}

// readEBRChain follows the extended boot records of the extended partition
// at extStart (sectors): each EBR holds one logical partition (relative to
// that EBR) and a link to the next EBR (relative to extStart).
func readEBRChain(r io.ReaderAt, size, sector, extStart, extLen int64) ([]Partition, error) {
	var out []Partition
	seen := map[int64]bool{}
	ebr := extStart
	buf := make([]byte, 512)
	for i := 0; ; i++ {
		if i >= maxLogical {
			return nil, fmt.Errorf("EBR chain: more than %d logical partitions", maxLogical)
		}
		if seen[ebr] {
			return nil, fmt.Errorf("EBR chain: loop at sector %d", ebr)
		}
		seen[ebr] = true
		if ebr < extStart || ebr >= extStart+extLen || (ebr+1)*sector > size {
			return nil, fmt.Errorf("EBR at sector %d outside the extended partition or the disk", ebr)
		}
		if _, err := r.ReadAt(buf, ebr*sector); err != nil {
			return nil, fmt.Errorf("EBR at sector %d: %w", ebr, err)
		}
		if buf[510] != 0x55 || buf[511] != 0xAA {
			if i == 0 {
				return nil, nil // an empty extended partition
			}
			return nil, fmt.Errorf("EBR at sector %d: no 55 AA signature", ebr)
		}
		e1, e2 := buf[446:462], buf[462:478]
		if t := e1[4]; t != 0 {
			rel := int64(binary.LittleEndian.Uint32(e1[8:]))
			n := int64(binary.LittleEndian.Uint32(e1[12:]))
			if n > 0 {
				out = append(out, Partition{
					Index: 5 + len(out), Start: (ebr + rel) * sector, Size: n * sector,
					Type: mbrTypeString(t), TypeName: mbrTypeName(t), Bootable: e1[0] == 0x80, Logical: true,
				})
			}
		}
		if e2[4] == 0 || !isExtended(e2[4]) {
			return out, nil
		}
		next := int64(binary.LittleEndian.Uint32(e2[8:]))
		if next == 0 {
			return nil, errors.New("EBR chain: link to itself")
		}
		ebr = extStart + next
	}
}
