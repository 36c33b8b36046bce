package vmdk

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/pvinject/pvinject/core/disk"
	"github.com/pvinject/pvinject/core/disk/internal/lru"
)

// grain states of a sparse extent
type grainKind int

const (
	grainUnallocated grainKind = iota
	grainZero
	grainData
	grainCompressed
)

// sparseExtent is one hosted sparse extent file. Its methods are called
// with the image's mutex held, except where noted.
type sparseExtent struct {
	path       string
	b          disk.Backing
	h          *sparseHeader
	grainBytes int64
	gtes       int64
	gd, rgd    []uint32 // gd is the directory used; rgd its redundant copy (nil when none)
	gdOff      int64    // bytes
	rgdOff     int64    // bytes
	fileEnd    int64    // next free byte, sector aligned
	stream     bool     // compressed grains: read-only
	damaged    string   // why writes are refused ("" when they are not)
	gtcache    *lru.Cache[[]uint32]
	zcache     *lru.Cache[[]byte]
}

func (s *sparseExtent) ferr(structure string, off int64, reason string, err error) error {
	return &disk.FormatError{File: s.path, Format: "vmdk", Structure: structure, Offset: off, Reason: reason, Err: err}
}

// openSparse reads the header (or the footer of a streamOptimized file)
// and the grain directories of the sparse extent in b.
func openSparse(path string, b disk.Backing) (*sparseExtent, error) {
	s := &sparseExtent{path: path, b: b}
	fsize, err := b.Size()
	if err != nil {
		return nil, fmt.Errorf("vmdk: size of %s: %w", path, err)
	}
	buf := make([]byte, sector)
	if _, err := readFullAt(b, buf, 0); err != nil {
		return nil, s.ferr("sparse header", 0, "cannot be read", err)
	}
	h, err := parseSparseHeader(buf)
	if err != nil {
		return nil, s.ferr("sparse header", 0, err.Error(), nil)
	}
	if h.gdOffset == gdAtEnd {
		// streamOptimized: the footer (a header copy) precedes the end-of-stream marker.
		if fsize < 3*sector {
			return nil, s.ferr("footer", -1, "file too short for a footer", nil)
		}
		if _, err := readFullAt(b, buf, fsize-2*sector); err != nil {
			return nil, s.ferr("footer", fsize-2*sector, "cannot be read", err)
		}
		if h, err = parseSparseHeader(buf); err != nil || h.gdOffset == gdAtEnd {
			return nil, s.ferr("footer", fsize-2*sector, "no valid footer header", err)
		}
	}
	if err := h.validate(); err != nil {
		return nil, s.ferr("sparse header", 0, err.Error(), nil)
	}
	s.h, s.grainBytes, s.gtes = h, int64(h.grainSize)*sector, int64(h.numGTEs)
	s.stream = h.flags&flagCompressed != 0
	s.fileEnd = (fsize + sector - 1) &^ (sector - 1)
	s.gtcache = lru.New[[]uint32](max(16, (8<<20)/int(s.gtes*4)))
	s.zcache = lru.New[[]byte](4)
	n := int64(h.gdEntries())
	if n*4 > fsize {
		return nil, s.ferr("grain directory", -1, fmt.Sprintf("%d entries cannot fit in a %d-byte file", n, fsize), nil)
	}
	s.gdOff = int64(min(h.gdOffset, maxSectors)) * sector
	gd, gdErr := s.readGD(s.gdOff, n, fsize)
	if h.flags&flagRedundant != 0 && h.rgdOffset != 0 {
		s.rgdOff = int64(min(h.rgdOffset, maxSectors)) * sector
		rgd, rgdErr := s.readGD(s.rgdOff, n, fsize)
		switch {
		case gdErr != nil && rgdErr == nil:
			// The primary directory is damaged: read through the redundant
			// one, but refuse to write a disk whose metadata disagrees.
			s.damaged = fmt.Sprintf("primary grain directory damaged (%v); repair the disk first", gdErr)
			gd, gdErr = rgd, nil
			rgd = nil
		case rgdErr != nil:
			s.damaged = fmt.Sprintf("redundant grain directory damaged (%v); repair the disk first", rgdErr)
			rgd = nil
		}
		s.rgd = rgd
	}
	if gdErr != nil {
		return nil, gdErr
	}
	s.gd = gd
	return s, nil
}

// readGD reads and checks a grain directory of n entries at off.
func (s *sparseExtent) readGD(off, n, fsize int64) ([]uint32, error) {
	if off <= 0 || off+n*4 > fsize {
		return nil, s.ferr("grain directory", off, fmt.Sprintf("%d entries run past the end of the %d-byte file", n, fsize), nil)
	}
	buf := make([]byte, n*4)
	if _, err := readFullAt(s.b, buf, off); err != nil {
		return nil, s.ferr("grain directory", off, "cannot be read", err)
	}
	gd := make([]uint32, n)
	for i := range gd {
		gd[i] = binary.LittleEndian.Uint32(buf[i*4:])
		if gd[i] != 0 && int64(gd[i])*sector+s.gtes*4 > fsize {
			return nil, s.ferr("grain directory", off+int64(i)*4, fmt.Sprintf("grain table at sector %d is past the end of the file", gd[i]), nil)
		}
	}
	return gd, nil
}

func (s *sparseExtent) gt(sec uint32) ([]uint32, error) {
	off := int64(sec) * sector
	if t, ok := s.gtcache.Get(off); ok {
		return t, nil
	}
	buf := make([]byte, s.gtes*4)
	if _, err := readFullAt(s.b, buf, off); err != nil {
		return nil, s.ferr("grain table", off, "cannot be read", err)
	}
	t := make([]uint32, s.gtes)
	for i := range t {
		t[i] = binary.LittleEndian.Uint32(buf[i*4:])
	}
	s.gtcache.Put(off, t)
	return t, nil
}

// lookup maps grain g of this extent.
func (s *sparseExtent) lookup(g int64) (grainKind, int64, error) {
	gdi := g / s.gtes
	if gdi >= int64(len(s.gd)) || s.gd[gdi] == 0 {
		return grainUnallocated, 0, nil
	}
	t, err := s.gt(s.gd[gdi])
	if err != nil {
		return 0, 0, err
	}
	e := t[g%s.gtes]
	switch {
	case e == 0:
		return grainUnallocated, 0, nil
	case e == 1 && s.h.flags&flagZeroGrain != 0:
		return grainZero, 0, nil
	}
	off := int64(e) * sector
	if off >= s.fileEnd { // a last grain cut short by the end of file reads as zeros

		return 0, 0, s.ferr("grain table", int64(s.gd[gdi])*sector+(g%s.gtes)*4, fmt.Sprintf("grain at sector %d is past the end of the file", e), nil)
	}
	if s.stream {
		return grainCompressed, off, nil
	}
	return grainData, off, nil
}

// readCompressed returns the grain stored compressed at off. Safe without
// the image mutex except for the cache, which the caller locks via lk.
func (s *sparseExtent) readCompressed(off int64, lk func(func())) ([]byte, error) {
	var c []byte
	var ok bool
	lk(func() { c, ok = s.zcache.Get(off) })
	if ok {
		return c, nil
	}
	var hdr [12]byte
	if _, err := readFullAt(s.b, hdr[:], off); err != nil {
		return nil, s.ferr("compressed grain", off, "header cannot be read", err)
	}
	n := int64(binary.LittleEndian.Uint32(hdr[8:]))
	if n == 0 || n > 2*s.grainBytes+4096 {
		return nil, s.ferr("compressed grain", off, fmt.Sprintf("compressed size %d is absurd", n), nil)
	}
	buf := make([]byte, n)
	if _, err := readFullAt(s.b, buf, off+12); err != nil {
		return nil, s.ferr("compressed grain", off, "data cannot be read", err)
	}
	zr, err := zlib.NewReader(bytes.NewReader(buf))
	if err != nil {
		return nil, s.ferr("compressed grain", off, "bad zlib stream", err)
	}
	out := make([]byte, s.grainBytes)
	if got, err := io.ReadFull(zr, out); err != nil && !(err == io.ErrUnexpectedEOF && got > 0) {
		return nil, s.ferr("compressed grain", off, "zlib stream does not decode", err)
	}
	lk(func() { s.zcache.Put(off, out) })
	return out, nil
}

// setGTE points grain g at sector value v in the grain table and its
// redundant copy, allocating the tables when the directory has none.
func (s *sparseExtent) setGTE(g int64, v uint32) error { return s.setGTEs(g, []uint32{v}) }

// setGTEs points grains g, g+1, ... at the sector values vs, which must all
// fall in one grain table: one write to the redundant table, then one to the
// primary.
func (s *sparseExtent) setGTEs(g int64, vs []uint32) error {
	gdi := g / s.gtes
	if gdi >= int64(len(s.gd)) {
		return s.ferr("grain directory", s.gdOff, fmt.Sprintf("grain %d beyond the directory", g), nil)
	}
	idx := g % s.gtes
	if idx+int64(len(vs)) > s.gtes {
		return fmt.Errorf("vmdk: %s: %d grain table entries from grain %d cross a table", s.path, len(vs), g)
	}
	if s.gd[gdi] == 0 {
		if s.rgd != nil {
			if err := s.newGT(s.rgd, s.rgdOff, gdi); err != nil {
				return err
			}
		}
		if err := s.newGT(s.gd, s.gdOff, gdi); err != nil {
			return err
		}
	}
	b := make([]byte, 4*len(vs))
	for i, v := range vs {
		binary.LittleEndian.PutUint32(b[4*i:], v)
	}
	dirs := []struct {
		d   []uint32
		off int64
	}{{s.rgd, s.rgdOff}, {s.gd, s.gdOff}} // redundant first: the primary commits
	for _, d := range dirs {
		if d.d == nil {
			continue
		}
		t, err := s.gt(d.d[gdi])
		if err != nil {
			return err
		}
		off := int64(d.d[gdi])*sector + idx*4
		if _, err := s.b.WriteAt(b, off); err != nil {
			return fmt.Errorf("vmdk: write grain table of %s at %d: %w", s.path, off, err)
		}
		copy(t[idx:], vs)
	}
	return nil
}

// newGT appends an empty grain table and enters it in directory d at off.
func (s *sparseExtent) newGT(d []uint32, dirOff, gdi int64) error {
	n := (s.gtes*4 + sector - 1) &^ (sector - 1)
	off := s.fileEnd
	if off/sector > 0xffffffff {
		return fmt.Errorf("vmdk: %s: extent file full (sector offsets are 32 bits)", s.path)
	}
	if _, err := s.b.WriteAt(make([]byte, n), off); err != nil {
		return fmt.Errorf("vmdk: write grain table of %s at %d: %w", s.path, off, err)
	}
	s.fileEnd += n
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], uint32(off/sector))
	if _, err := s.b.WriteAt(b[:], dirOff+gdi*4); err != nil {
		return fmt.Errorf("vmdk: write grain directory of %s: %w", s.path, err)
	}
	d[gdi] = uint32(off / sector)
	s.gtcache.Put(off, make([]uint32, s.gtes))
	return nil
}

// appendGrain writes a whole grain at the end of the file and returns its sector.
func (s *sparseExtent) appendGrain(data []byte) (uint32, error) { return s.appendGrains(data) }

// appendGrains writes whole grains (len(data) is a multiple of the grain
// size) at the end of the file and returns the first one's sector.
func (s *sparseExtent) appendGrains(data []byte) (uint32, error) {
	off := s.fileEnd
	n := int64(len(data))
	if (off+n)/sector > 0xffffffff {
		return 0, fmt.Errorf("vmdk: %s: extent file full (sector offsets are 32 bits)", s.path)
	}
	if _, err := s.b.WriteAt(data, off); err != nil {
		return 0, fmt.Errorf("vmdk: write grain of %s at %d: %w", s.path, off, err)
	}
	s.fileEnd += n
	return uint32(off / sector), nil
}

// readFullAt reads len(p) bytes; io.EOF after a full read is not an error.
func readFullAt(r io.ReaderAt, p []byte, off int64) (int, error) {
	n, err := r.ReadAt(p, off)
	if n == len(p) {
		return n, nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}
