package partition

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"io"
	"slices"

	"github.com/diskfs/go-diskfs/partition/gpt"
)

// Bounds on GPT header fields, checked before go-diskfs allocates from them.
const (
	maxGPTEntries   = 4096
	maxGPTArraySize = 1 << 20
	// maxGPTPartitions is how many partitions Windows uses on a basic GPT
	// disk (Microsoft, "Windows and GPT FAQ": up to 128). A table with more
	// used entries is not a Windows system disk, and probing each of
	// thousands of entries would keep inspection busy for seconds.
	maxGPTPartitions = 128
)

// hasGPTHeader reports whether a GPT header signature is at LBA 1 for this
// sector size.
func hasGPTHeader(r io.ReaderAt, size, sector int64) bool {
	if 2*sector > size {
		return false
	}
	sig := make([]byte, 8)
	if _, err := r.ReadAt(sig, sector); err != nil {
		return false
	}
	return bytes.Equal(sig, []byte("EFI PART"))
}

// checkGPTHeader validates the fields go-diskfs trusts: entry count and
// size, and where the entry array lies. The CRC is go-diskfs's job.
func checkGPTHeader(r io.ReaderAt, size, sector, lba int64) error {
	h := make([]byte, 92)
	if _, err := r.ReadAt(h, lba*sector); err != nil {
		return err
	}
	if !bytes.Equal(h[:8], []byte("EFI PART")) {
		return fmt.Errorf("no GPT header signature at LBA %d", lba)
	}
	arrayLBA := binary.LittleEndian.Uint64(h[72:])
	count := binary.LittleEndian.Uint32(h[80:])
	esize := binary.LittleEndian.Uint32(h[84:])
	if count == 0 || count > maxGPTEntries {
		return fmt.Errorf("GPT header at LBA %d: %d partition entries (at most %d)", lba, count, maxGPTEntries)
	}
	if esize != gpt.PartitionEntrySize {
		return fmt.Errorf("GPT header at LBA %d: entry size %d, only %d is supported", lba, esize, gpt.PartitionEntrySize)
	}
	arr := int64(count) * int64(esize)
	if arr > maxGPTArraySize || arrayLBA > uint64(size/sector) || int64(arrayLBA)*sector+arr > size {
		return fmt.Errorf("GPT header at LBA %d: entry array (%d bytes at LBA %d) outside the disk", lba, arr, arrayLBA)
	}
	return nil
}

// readGPT reads a GPT through go-diskfs after validating both headers it may
// read (primary at LBA 1, backup at the last LBA).
func readGPT(r io.ReaderAt, size, sector int64) (parts []Partition, id string, err error) {
	perr := checkGPTHeader(r, size, sector, 1)
	berr := checkGPTHeader(r, size, sector, size/sector-1)
	if perr != nil && berr != nil {
		return nil, "", fmt.Errorf("GPT: %w (backup header: %v)", perr, berr)
	}
	if perr != nil {
		// go-diskfs reads the backup only when the primary's content is bad;
		// an absurd primary could still pass its CRC, so refuse outright.
		return nil, "", fmt.Errorf("GPT: %w", perr)
	}
	defer func() {
		if p := recover(); p != nil { // belt and braces: bad bytes never crash the caller
			parts, id, err = nil, "", fmt.Errorf("GPT: unreadable table: %v", p)
		}
	}()
	f := &readerFile{r: r, size: size}
	t, err := gpt.Read(f, int(sector), int(sector))
	if err != nil {
		return nil, "", fmt.Errorf("GPT: %w", err)
	}
	if t.RecoveredFromBackup && berr != nil {
		return nil, "", fmt.Errorf("GPT: %w", berr)
	}
	for _, p := range t.Partitions {
		if p == nil {
			continue
		}
		if p.End < p.Start || p.Start > uint64(size/sector) {
			return nil, "", fmt.Errorf("GPT: entry %d spans sectors %d-%d, outside the disk", p.Index, p.Start, p.End)
		}
		typ := string(p.Type)
		parts = append(parts, Partition{
			Index: p.Index, Start: int64(p.Start) * sector, Size: int64(p.End-p.Start+1) * sector,
			Type: typ, TypeName: gptTypeName(typ), Name: p.Name, GUID: p.GUID,
		})
	}
	if len(parts) > maxGPTPartitions {
		return nil, "", fmt.Errorf("GPT: %d partitions in use; Windows uses at most %d on a disk, so the table is damaged or not a Windows disk's", len(parts), maxGPTPartitions)
	}
	if a, b, ok := overlapping(parts); ok {
		return nil, "", fmt.Errorf("GPT: partitions %d and %d overlap; the partition table is damaged (repair it with a partitioning tool, or restore a backup)", a.Index, b.Index)
	}
	return parts, t.GUID, nil
}

// overlapping finds two partitions that share a byte: writing into one would
// overwrite the other.
func overlapping(parts []Partition) (a, b Partition, ok bool) {
	s := slices.Clone(parts)
	slices.SortFunc(s, func(x, y Partition) int { return cmp.Compare(x.Start, y.Start) })
	for i := 1; i < len(s); i++ {
		if s[i].Start < s[i-1].Start+s[i-1].Size {
			return s[i-1], s[i], true
		}
	}
	return Partition{}, Partition{}, false
}
