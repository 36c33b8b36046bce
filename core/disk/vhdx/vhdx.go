package vhdx

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/bits"
	"sync"

	"github.com/pvinject/pvinject/core/disk"
)

// Format is the VHDX container.
var Format = disk.Format{Name: "vhdx", Probe: Probe, Open: Open, Create: Create}

// Probe recognises the "vhdxfile" file type identifier.
func Probe(head []byte, size int64) bool {
	return len(head) >= 8 && bytes.Equal(head[:8], fileSignature)
}

// maxMetadataRegion bounds the metadata region read into memory.
const maxMetadataRegion = 64 * mib

// Image is an open VHDX.
type Image struct {
	path     string
	b        disk.Backing
	owned    bool // Create opened b, so Close closes it
	writable bool

	hdr       header // the current header
	hdrSlot   int    // 0: header 1 is current, 1: header 2
	md        metadata
	l         layout
	shift     uint // log2(block size)
	size      int64
	batOff    int64
	bat       []uint64
	parent    disk.Image
	parentRef string

	mu           sync.RWMutex // WriteAt, Flush and Close hold it; ReadAt shares it
	fileEnd      int64        // 1 MiB aligned end: where the next block goes
	guidsUpdated bool
	err          error
	closed       bool

	bmMu    sync.Mutex
	bitmaps map[int64][]byte // sector bitmaps of partially present blocks read so far
}

var (
	_ disk.Image     = (*Image)(nil)
	_ disk.Describer = (*Image)(nil)
	_ disk.Mapper    = (*Image)(nil)
)

func formatErr(path, structure string, off int64, format string, args ...any) error {
	return &disk.FormatError{File: path, Format: "vhdx", Structure: structure, Offset: off, Reason: fmt.Sprintf(format, args...)}
}

func readFull(b disk.Backing, p []byte, off int64) error {
	n, err := b.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// Open opens the VHDX whose host file b is already open at path. Close does
// not close b (the caller opened it) nor the parent (opts.OpenParent's
// supplier owns it).
func Open(path string, b disk.Backing, opts disk.Options) (disk.Image, error) {
	m, err := open(path, b, opts)
	if err != nil {
		return nil, err
	}
	return m, nil
}

func open(path string, b disk.Backing, opts disk.Options) (*Image, error) {
	if b == nil {
		return nil, fmt.Errorf("vhdx: open %s: no host file", path)
	}
	size, err := b.Size()
	if err != nil {
		return nil, fmt.Errorf("vhdx: size of %s: %w", path, err)
	}
	m := &Image{path: path, b: b, writable: opts.Writable}
	if size < headerAreaSize {
		return nil, formatErr(path, "file identifier", -1, "file of %d bytes is shorter than the 1 MiB header area", size)
	}
	head := make([]byte, region2Offset+regionSize)
	if err := m.readHead(head, size); err != nil {
		return nil, err
	}
	replayed, err := m.replayLog(size)
	if err != nil {
		return nil, err
	}
	if replayed {
		// The log may have rewritten region tables, metadata and the BAT.
		if size, err = m.b.Size(); err != nil {
			return nil, fmt.Errorf("vhdx: size of %s: %w", path, err)
		}
		if err := m.readHead(head, size); err != nil {
			return nil, err
		}
	}
	b = m.b
	regions, p := parseRegionTable(head[region1Offset:], size)
	if p != "" {
		var p2 string
		if regions, p2 = parseRegionTable(head[region2Offset:], size); p2 != "" {
			return nil, formatErr(path, "region table", region1Offset, "both copies are bad: %s; second copy: %s", p, p2)
		}
		slog.Warn("vhdx: first region table is damaged; using the second copy", "file", path, "problem", p)
	}
	var batR, metaR *region
	for i := range regions {
		switch regions[i].GUID {
		case regionBAT:
			batR = &regions[i]
		case regionMetadata:
			metaR = &regions[i]
		}
	}
	if batR == nil || metaR == nil {
		return nil, formatErr(path, "region table", region1Offset, "no BAT or no metadata region")
	}
	if metaR.Length > maxMetadataRegion {
		return nil, formatErr(path, "region table", region1Offset, "metadata region of %d bytes is larger than %d", metaR.Length, maxMetadataRegion)
	}
	mraw := make([]byte, metaR.Length)
	if err := readFull(b, mraw, int64(metaR.Offset)); err != nil {
		return nil, fmt.Errorf("vhdx: read metadata of %s: %w", path, err)
	}
	md, p := parseMetadata(mraw)
	if p != "" {
		return nil, formatErr(path, "metadata", int64(metaR.Offset), "%s", p)
	}
	m.md, m.l, m.size = md, newLayout(md), int64(md.VirtualSize)
	m.shift = uint(bits.TrailingZeros64(uint64(md.BlockSize)))
	if int64(batR.Length) < m.l.entries*8 {
		return nil, formatErr(path, "BAT", int64(batR.Offset), "region of %d bytes cannot hold the %d entries the disk needs", batR.Length, m.l.entries)
	}
	m.batOff = int64(batR.Offset)
	raw := make([]byte, m.l.entries*8)
	if err := readFull(b, raw, m.batOff); err != nil {
		return nil, fmt.Errorf("vhdx: read BAT of %s: %w", path, err)
	}
	bat, idx, p := parseBAT(raw, m.l, m.size, size, md.HasParent)
	if p != "" {
		return nil, formatErr(path, "BAT", m.batOff+8*idx, "entry %d: %s", idx, p)
	}
	fixed := []span{
		{0, headerAreaSize, "header area", -1},
		{int64(batR.Offset), int64(batR.Offset) + int64(batR.Length), "BAT", -1},
		{int64(metaR.Offset), int64(metaR.Offset) + int64(metaR.Length), "metadata", -1},
	}
	if m.hdr.LogLength > 0 {
		fixed = append(fixed, span{int64(m.hdr.LogOffset), int64(m.hdr.LogOffset) + int64(m.hdr.LogLength), "log", -1})
	}
	if idx, p := checkOverlap(bat, m.l, m.size, fixed); p != "" {
		off := int64(-1)
		if idx >= 0 {
			off = m.batOff + 8*idx
		}
		return nil, formatErr(path, "BAT", off, "%s", p)
	}
	m.bat = bat
	m.fileEnd = (size + mib - 1) / mib * mib
	m.bitmaps = make(map[int64][]byte)
	if md.HasParent {
		if err := m.openParent(opts); err != nil {
			return nil, err
		}
	}
	if replayed && m.writable {
		// The log is applied: headers without it stop a second replay.
		if err := m.updateHeaders(); err != nil {
			return nil, fmt.Errorf("vhdx: %s: clear the replayed log: %w", path, err)
		}
	}
	return m, nil
}

// readHead reads the file identifier, headers and region tables into head
// and picks the current header.
func (m *Image) readHead(head []byte, size int64) error {
	if err := readFull(m.b, head, 0); err != nil {
		return fmt.Errorf("vhdx: read headers of %s: %w", m.path, err)
	}
	if !bytes.Equal(head[:8], fileSignature) {
		return formatErr(m.path, "file identifier", 0, `no "vhdxfile" signature`)
	}
	return m.pickHeader(head, size)
}

// pickHeader chooses the current header: the valid one with the higher
// sequence number.
func (m *Image) pickHeader(head []byte, size int64) error {
	p1, p2 := headerProblem(head[header1Offset:]), headerProblem(head[header2Offset:])
	var h1, h2 header
	if p1 == "" {
		h1 = parseHeader(head[header1Offset:])
	}
	if p2 == "" {
		h2 = parseHeader(head[header2Offset:])
	}
	switch {
	case p1 != "" && p2 != "":
		return formatErr(m.path, "header", header1Offset, "both headers are bad: %s; second: %s", p1, p2)
	case p2 != "" || (p1 == "" && h1.Sequence > h2.Sequence):
		m.hdr, m.hdrSlot = h1, 0
	case p1 != "" || h2.Sequence > h1.Sequence:
		m.hdr, m.hdrSlot = h2, 1
	default:
		if !bytes.Equal(head[header1Offset:header1Offset+headerSize], head[header2Offset:header2Offset+headerSize]) {
			return formatErr(m.path, "header", header1Offset, "both headers have sequence number %d but differ", h1.Sequence)
		}
		m.hdr, m.hdrSlot = h1, 0
	}
	h := m.hdr
	if h.Version != 1 {
		return formatErr(m.path, "header", -1, "unsupported version %d", h.Version)
	}
	if h.LogVersion != 0 {
		return formatErr(m.path, "header", -1, "unsupported log version %d", h.LogVersion)
	}
	if h.LogOffset%mib != 0 || h.LogLength%mib != 0 || (h.LogLength > 0 && h.LogOffset < headerAreaSize) ||
		h.LogOffset > uint64(size) || uint64(size)-h.LogOffset < uint64(h.LogLength) {
		return formatErr(m.path, "header", -1, "log at %d of %d bytes is misaligned or outside the file (%d bytes)", h.LogOffset, h.LogLength, size)
	}
	return nil
}

// DataWriteGUID is the GUID that differencing children record as
// parent_linkage.
func (m *Image) DataWriteGUID() string { return m.hdr.DataWriteGUID.String() }

// Size is the virtual size.
func (m *Image) Size() int64 { return m.size }

// Info describes the image.
func (m *Image) Info() disk.Info {
	sub := "dynamic"
	switch {
	case m.md.HasParent:
		sub = "differencing"
	case m.md.LeaveAllocated:
		sub = "fixed"
	}
	return disk.Info{Format: "vhdx", Subformat: sub, VirtualSize: m.size, Files: []string{m.path}, Parent: m.parentRef}
}
