package vhd

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/bits"
	"slices"
	"sync"

	"github.com/pvinject/pvinject/core/disk"
)

// Format is the VHD container, named "vpc" like qemu-img names it.
var Format = disk.Format{Name: "vpc", Probe: Probe, Open: Open, Create: Create}

// Probe recognises dynamic and differencing disks by the footer copy at
// offset 0, and fixed disks only when the whole file fits in head.
func Probe(head []byte, size int64) bool {
	if len(head) >= 8 && bytes.Equal(head[:8], footerCookie) {
		return true
	}
	if int64(len(head)) == size && size >= footerSize {
		return ProbeFooter(head[size-footerSize:])
	}
	return false
}

// ProbeFooter reports whether the last 512 bytes of a file (tail) are a VHD
// footer: the only way to recognise a fixed VHD.
func ProbeFooter(tail []byte) bool {
	return len(tail) >= footerSize && footerProblem(tail[len(tail)-footerSize:]) == ""
}

// Image is an open VHD.
type Image struct {
	path     string
	b        disk.Backing
	owned    bool // Create opened b, so Close closes it
	writable bool

	ft       footer
	ftRaw    []byte
	size     int64
	diskType uint32

	// Dynamic and differencing disks only.
	hdr       dynHeader
	bs        int64 // block size
	shift     uint  // log2(bs)
	bmSize    int64 // bytes of a block's sector bitmap
	batOff    int64
	bat       []uint32 // in-memory copy, one entry per block of the disk
	parent    disk.Image
	parentRef string

	mu          sync.RWMutex // WriteAt, Flush and Close hold it; ReadAt shares it
	fileEnd     int64        // offset of the footer at the end; new blocks go here
	fileSize    int64
	footerDirty bool // the footer at the end must be rewritten
	headDirty   bool // the footer copy at offset 0 must be rewritten
	err         error
	closed      bool

	bmMu    sync.Mutex
	bitmaps map[uint32][]byte // sector bitmaps read so far, by block
}

var (
	_ disk.Image     = (*Image)(nil)
	_ disk.Describer = (*Image)(nil)
	_ disk.Mapper    = (*Image)(nil)
)

func formatErr(path, structure string, off int64, format string, args ...any) error {
	return &disk.FormatError{File: path, Format: "vpc", Structure: structure, Offset: off, Reason: fmt.Sprintf(format, args...)}
}

// readFull reads len(p) bytes at off; a short read means a truncated file.
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

// Open opens the VHD whose host file b is already open at path. Close does
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
		return nil, fmt.Errorf("vpc: open %s: no host file", path)
	}
	size, err := b.Size()
	if err != nil {
		return nil, fmt.Errorf("vpc: size of %s: %w", path, err)
	}
	if size < footerSize {
		return nil, formatErr(path, "footer", -1, "file of %d bytes is too short to hold a VHD footer", size)
	}
	m := &Image{path: path, b: b, writable: opts.Writable, fileSize: size, fileEnd: size - footerSize}
	if err := m.readFooter(); err != nil {
		return nil, err
	}
	switch m.diskType {
	case typeFixed:
		if m.fileEnd < m.size {
			return nil, formatErr(path, "data", m.fileEnd, "fixed disk truncated: %d bytes of data for a virtual size of %d", m.fileEnd, m.size)
		}
		return m, nil
	case typeDynamic, typeDifferencing:
	default:
		return nil, formatErr(path, "footer", m.fileEnd, "unknown disk type %d", m.diskType)
	}
	if err := m.readDynamic(); err != nil {
		return nil, err
	}
	if m.diskType == typeDifferencing {
		if err := m.openParent(opts); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// readFooter picks the footer: the one at the end, or for dynamic disks the
// copy at offset 0 when the end one is damaged (the spec keeps the copy for
// exactly this).
func (m *Image) readFooter() error {
	tail := make([]byte, footerSize)
	if err := readFull(m.b, tail, m.fileEnd); err != nil {
		return fmt.Errorf("vpc: read footer of %s: %w", m.path, err)
	}
	tailProblem := footerProblem(tail)
	var head []byte
	headProblem := "file too short for a footer copy"
	if m.fileSize >= 2*footerSize {
		head = make([]byte, footerSize)
		if err := readFull(m.b, head, 0); err != nil {
			return fmt.Errorf("vpc: read footer copy of %s: %w", m.path, err)
		}
		headProblem = footerProblem(head)
	}
	headUsable := headProblem == "" && parseFooter(head).DataOffset != noDataOffset
	switch {
	case tailProblem == "":
		m.ftRaw = tail
		ft := parseFooter(tail)
		if ft.DataOffset != noDataOffset && headProblem != "" {
			slog.Warn("vpc: footer copy at offset 0 is damaged; using the footer at the end", "file", m.path, "problem", headProblem)
			m.headDirty = true
		}
	case headUsable:
		slog.Warn("vpc: footer at the end is damaged; using its copy at offset 0", "file", m.path, "problem", tailProblem)
		m.ftRaw = head
		m.footerDirty = true
		m.fileEnd = -1 // found from the BAT in readDynamic
	default:
		return formatErr(m.path, "footer", m.fileEnd, "%s", tailProblem)
	}
	m.ft = parseFooter(m.ftRaw)
	m.diskType = m.ft.DiskType
	if m.ft.Version>>16 != 1 {
		return formatErr(m.path, "footer", -1, "unsupported format version %s", hex32(m.ft.Version))
	}
	vs := m.ft.virtualSize()
	if vs <= 0 || vs > maxVirtualSize {
		return formatErr(m.path, "footer", -1, "virtual size %d is outside 1 byte..2 TiB", vs)
	}
	m.size = vs / sectorSize * sectorSize
	if m.ft.SavedState != 0 {
		slog.Warn("vpc: the image has a saved VM state; its guest was not shut down", "file", m.path)
	}
	return nil
}

// readDynamic reads and checks the dynamic header and the BAT.
func (m *Image) readDynamic() error {
	fileSize := m.fileSize
	hoff := m.ft.DataOffset
	if hoff < footerSize || hoff > uint64(fileSize) || uint64(fileSize)-hoff < dynHeaderSize {
		return formatErr(m.path, "footer", -1, "dynamic header offset %d is outside the file (%d bytes)", hoff, fileSize)
	}
	raw := make([]byte, dynHeaderSize)
	if err := readFull(m.b, raw, int64(hoff)); err != nil {
		return fmt.Errorf("vpc: read dynamic header of %s: %w", m.path, err)
	}
	if p := dynHeaderProblem(raw); p != "" {
		return formatErr(m.path, "dynamic header", int64(hoff), "%s", p)
	}
	h := parseDynHeader(raw)
	m.hdr = h
	if h.Version>>16 != 1 {
		return formatErr(m.path, "dynamic header", int64(hoff), "unsupported header version %s", hex32(h.Version))
	}
	bs := int64(h.BlockSize)
	if bs < sectorSize || bs > maxBlockSize || bs&(bs-1) != 0 {
		return formatErr(m.path, "dynamic header", int64(hoff), "block size %d is not a power of two between 512 and %d", bs, maxBlockSize)
	}
	m.bs = bs
	m.shift = uint(bits.TrailingZeros64(uint64(bs)))
	m.bmSize = bitmapBytes(bs)
	blocks := (m.size + bs - 1) / bs
	if int64(h.MaxTableEntries) < blocks {
		return formatErr(m.path, "dynamic header", int64(hoff), "BAT has %d entries, the disk needs %d", h.MaxTableEntries, blocks)
	}
	batLen := int64(h.MaxTableEntries) * 4
	if h.TableOffset < footerSize || h.TableOffset > uint64(fileSize) || uint64(fileSize)-h.TableOffset < uint64(batLen) {
		return formatErr(m.path, "dynamic header", int64(hoff), "BAT at %d (%d bytes) is outside the file (%d bytes)", h.TableOffset, batLen, fileSize)
	}
	m.batOff = int64(h.TableOffset)
	buf := make([]byte, blocks*4)
	if err := readFull(m.b, buf, m.batOff); err != nil {
		return fmt.Errorf("vpc: read BAT of %s: %w", m.path, err)
	}
	m.bat = make([]uint32, blocks)
	// Blocks must end before the footer; when the end footer is damaged the
	// file's own end is the limit and the footer is rewritten after the last block.
	limit := m.fileEnd
	if limit < 0 {
		limit = fileSize
	}
	end := max(int64(hoff)+dynHeaderSize, m.batOff+batLen)
	for i := range m.bat {
		e := binary.BigEndian.Uint32(buf[4*i:])
		m.bat[i] = e
		if e == batUnused {
			continue
		}
		off := int64(e) * sectorSize
		if off < footerSize || off+m.bmSize+bs > limit {
			return formatErr(m.path, "BAT", m.batOff+4*int64(i), "entry %d puts block at %d..%d, past the end of the data (%d bytes)", i, off, off+m.bmSize+bs, limit)
		}
		end = max(end, off+m.bmSize+bs)
		meta := [][2]int64{{int64(hoff), int64(hoff) + dynHeaderSize}, {m.batOff, m.batOff + batLen}}
		for _, r := range meta {
			if off < r[1] && r[0] < off+m.bmSize+bs {
				return formatErr(m.path, "BAT", m.batOff+4*int64(i), "entry %d puts block at %d, over the dynamic header or the BAT", i, off)
			}
		}
	}
	if err := m.checkOverlap(); err != nil {
		return err
	}
	if m.fileEnd < 0 {
		m.fileEnd = (end + sectorSize - 1) / sectorSize * sectorSize
	}
	m.bitmaps = make(map[uint32][]byte)
	return nil
}

// checkOverlap refuses BATs whose blocks share file space: a write through
// one block would change another.
func (m *Image) checkOverlap() error {
	idx := make([]int, 0, len(m.bat))
	for i, e := range m.bat {
		if e != batUnused {
			idx = append(idx, i)
		}
	}
	slices.SortFunc(idx, func(a, b int) int { return cmp.Compare(m.bat[a], m.bat[b]) })
	span := (m.bmSize + m.bs) / sectorSize
	for k := 1; k < len(idx); k++ {
		if int64(m.bat[idx[k]])-int64(m.bat[idx[k-1]]) < span {
			return formatErr(m.path, "BAT", m.batOff+4*int64(idx[k]), "entries %d and %d overlap in the file", idx[k-1], idx[k])
		}
	}
	return nil
}

// UniqueID is the id in the footer that differencing children record.
func (m *Image) UniqueID() [16]byte { return m.ft.UniqueID }

// Size is the virtual size.
func (m *Image) Size() int64 { return m.size }

// Info describes the image.
func (m *Image) Info() disk.Info {
	sub := map[uint32]string{typeFixed: "fixed", typeDynamic: "dynamic", typeDifferencing: "differencing"}[m.diskType]
	return disk.Info{Format: "vpc", Subformat: sub, VirtualSize: m.size, Files: []string{m.path}, Parent: m.parentRef}
}
