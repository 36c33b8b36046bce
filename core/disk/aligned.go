package disk

import (
	"fmt"
	"io"
)

// sectorIO turns byte-granular reads and writes into whole-sector ones.
// Windows raw disk handles (\\.\PhysicalDriveN) fail any ReadFile or
// WriteFile whose offset or length is not a multiple of the sector size
// (docs/windows-macos.md), while the formats and the NTFS layer read
// headers and records at any offset. An unaligned write reads the sectors
// it touches and writes them back whole.
type sectorIO struct {
	dev    ioReadWriterAt
	sector int64 // a power of two; 4096 suits 512-byte and 4Kn disks alike
}

type ioReadWriterAt interface {
	io.ReaderAt
	io.WriterAt
}

func (s sectorIO) span(off int64, n int) (start, end int64) {
	start = off &^ (s.sector - 1)
	end = (off + int64(n) + s.sector - 1) &^ (s.sector - 1)
	return start, end
}

func (s sectorIO) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("read at negative offset %d", off)
	}
	start, end := s.span(off, len(p))
	if start == off && end == off+int64(len(p)) {
		return s.dev.ReadAt(p, off)
	}
	buf := make([]byte, end-start)
	n, err := s.dev.ReadAt(buf, start)
	got := max(0, min(int64(n)-(off-start), int64(len(p))))
	copy(p, buf[off-start:off-start+got])
	if err == nil && got < int64(len(p)) {
		err = io.EOF
	}
	if got == int64(len(p)) {
		err = nil
	}
	return int(got), err
}

func (s sectorIO) WriteAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("write at negative offset %d", off)
	}
	start, end := s.span(off, len(p))
	if start == off && end == off+int64(len(p)) {
		return s.dev.WriteAt(p, off)
	}
	buf := make([]byte, end-start)
	// The sectors at both ends keep their other bytes.
	if _, err := s.dev.ReadAt(buf, start); err != nil {
		return 0, fmt.Errorf("read sectors at %d before a partial write: %w", start, err)
	}
	copy(buf[off-start:], p)
	if _, err := s.dev.WriteAt(buf, start); err != nil {
		return 0, err
	}
	return len(p), nil
}
