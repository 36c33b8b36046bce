package vmdk

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"

	"github.com/pvinject/pvinject/core/disk"
)

// Format is the VMDK container.
var Format = disk.Format{
	Name:   "vmdk",
	Probe:  Probe,
	Open:   Open,
	Create: Create,
}

// Probe recognises a sparse extent (KDMV), an ESX sparse extent (COWD, so
// that Open can refuse it by name) or a text descriptor.
func Probe(head []byte, size int64) bool {
	if len(head) >= 4 && (string(head[:4]) == sparseMagic || string(head[:4]) == cowdMagic) {
		return true
	}
	if size > maxDescriptor {
		return false
	}
	h := string(head[:min(len(head), 1024)])
	return strings.Contains(h, "# Disk DescriptorFile") ||
		(strings.Contains(h, "createType") && strings.Contains(h, "version="))
}

type extentKind int

const (
	extFlat extentKind = iota
	extZero
	extSparse
)

// extent is one extent line, opened.
type extent struct {
	line          extentLine
	kind          extentKind
	start, length int64 // guest bytes
	path          string
	b             disk.Backing
	owned         bool
	fileOff       int64 // flat: byte offset of the extent in its file
	sp            *sparseExtent
}

// Image is an open VMDK.
type Image struct {
	path     string
	b        disk.Backing
	desc     *descriptor
	embedded *sparseExtent // holds the descriptor, nil for a descriptor file
	extents  []*extent
	size     int64
	writable bool
	readOnly error // why writes are refused, nil when they are not
	parent   disk.Image

	mu         sync.Mutex // guards caches, allocation and the fields below
	cidUpdated bool
	err        error
	closed     bool
}

var (
	_ disk.Image     = (*Image)(nil)
	_ disk.Describer = (*Image)(nil)
	_ disk.Mapper    = (*Image)(nil)
)

func (m *Image) ferr(structure string, off int64, reason string, err error) error {
	return &disk.FormatError{File: m.path, Format: "vmdk", Structure: structure, Offset: off, Reason: reason, Err: err}
}

// Open opens the VMDK whose first file (a sparse extent with an embedded
// descriptor, or a descriptor file) is b at path. Other extent files are
// opened with opts.FileOpener() in the descriptor's folder; Close closes
// them but not b, nor the parent.
func Open(path string, b disk.Backing, opts disk.Options) (disk.Image, error) {
	m, err := open(path, b, opts)
	if err != nil {
		return nil, err
	}
	return m, nil
}

func open(path string, b disk.Backing, opts disk.Options) (*Image, error) {
	m := &Image{path: path, b: b, writable: opts.Writable}
	fsize, err := b.Size()
	if err != nil {
		return nil, fmt.Errorf("vmdk: size of %s: %w", path, err)
	}
	head := make([]byte, min(fsize, maxDescriptor))
	if _, err := readFullAt(b, head, 0); err != nil {
		return nil, fmt.Errorf("vmdk: read %s: %w", path, err)
	}
	switch {
	case len(head) >= 4 && string(head[:4]) == cowdMagic:
		return nil, m.ferr("header", 0, "ESX sparse (COWD, vmfsSparse) extents are not supported; convert with `qemu-img convert` first", nil)
	case len(head) >= 4 && string(head[:4]) == sparseMagic:
		sp, err := openSparse(path, b)
		if err != nil {
			return nil, err
		}
		m.embedded = sp
		if sp.h.descOffset == 0 || sp.h.descSize == 0 {
			// A bare sparse extent: describe it as its own single extent.
			m.desc = &descriptor{cid: noParentCID, parentCID: noParentCID, createType: "monolithicSparse",
				extents: []extentLine{{access: "RW", sectors: int64(sp.h.capacity), typ: "SPARSE", file: filepath.Base(path)}}}
			break
		}
		off, n := int64(sp.h.descOffset)*sector, int64(sp.h.descSize)*sector
		if off+n > fsize {
			return nil, m.ferr("embedded descriptor", off, "runs past the end of the file", nil)
		}
		if m.desc, err = parseDescriptor(string(head[min(off, int64(len(head))):min(off+n, int64(len(head)))])); err != nil {
			return nil, m.ferr("embedded descriptor", off, err.Error(), nil)
		}
	default:
		if fsize > maxDescriptor {
			return nil, m.ferr("descriptor", 0, "not a sparse extent, and too large for a descriptor", nil)
		}
		if m.desc, err = parseDescriptor(string(head)); err != nil {
			return nil, m.ferr("descriptor", 0, err.Error(), nil)
		}
	}
	if err := m.openExtents(opts); err != nil {
		m.closeExtents()
		return nil, err
	}
	if err := m.openParent(opts); err != nil {
		m.closeExtents()
		return nil, err
	}
	return m, nil
}

// extentPath resolves an extent file name within the descriptor's folder.
// Only the base name of absolute or escaping names is used: a descriptor
// must not make pvinject open (or write) files elsewhere.
func (m *Image) extentPath(name string) string {
	n := filepath.FromSlash(strings.ReplaceAll(name, `\`, "/"))
	if filepath.IsAbs(n) || strings.HasPrefix(filepath.Clean(n), "..") {
		n = filepath.Base(n)
	}
	return filepath.Join(filepath.Dir(m.path), n)
}

func (m *Image) openExtents(opts disk.Options) error {
	var start int64
	for i, l := range m.desc.extents {
		e := &extent{line: l, start: start, length: l.sectors * sector}
		if start+e.length > maxSectors*sector {
			return m.ferr("descriptor", -1, "extents add up to an absurd size", nil)
		}
		start += e.length
		m.extents = append(m.extents, e)
		switch l.typ {
		case "ZERO":
			e.kind = extZero
			continue
		case "SPARSE":
			e.kind = extSparse
		case "FLAT", "VMFS":
			e.kind = extFlat
			e.fileOff = l.offset * sector
		default:
			return m.ferr("descriptor", -1, fmt.Sprintf("extent %d: type %s is not supported; convert with `qemu-img convert` first", i+1, l.typ), nil)
		}
		e.path = m.extentPath(l.file)
		// A sparse file's own descriptor with a single extent means the file
		// itself, even when the file has been renamed since.
		self := filepath.Clean(e.path) == filepath.Clean(m.path) || len(m.desc.extents) == 1
		if m.embedded != nil && self {
			e.b, e.sp = m.b, m.embedded
			if e.kind != extSparse {
				return m.ferr("descriptor", -1, fmt.Sprintf("extent %d: the sparse file itself listed as %s", i+1, l.typ), nil)
			}
			continue
		}
		b, err := opts.FileOpener().Open(e.path, opts.Writable && l.access == "RW")
		if err != nil {
			return fmt.Errorf("vmdk: %s: open extent %d: %w", m.path, i+1, err)
		}
		e.b, e.owned = b, true
		if e.kind == extSparse {
			if e.sp, err = openSparse(e.path, b); err != nil {
				return err
			}
			continue
		}
		sz, err := b.Size()
		if err != nil {
			return fmt.Errorf("vmdk: size of %s: %w", e.path, err)
		}
		if sz < e.fileOff+e.length {
			return &disk.FormatError{File: e.path, Format: "vmdk", Structure: "flat extent", Offset: -1,
				Reason: fmt.Sprintf("file has %d bytes, the descriptor of %s needs %d", sz, m.path, e.fileOff+e.length)}
		}
	}
	m.size = start
	for _, e := range m.extents {
		if e.sp != nil {
			switch {
			case e.sp.stream:
				m.readOnly = fmt.Errorf("vmdk: %s is streamOptimized (compressed): %w", m.path, disk.ErrReadOnlyFormat)
			case e.sp.damaged != "" && m.readOnly == nil:
				m.readOnly = e.sp.ferr("grain directory", -1, e.sp.damaged, nil)
			}
		}
	}
	return nil
}

// cider is implemented by VMDK parents, so a child can check parentCID.
type cider interface{ CID() uint32 }

// findCID looks for the CID of a parent through wrappers that expose the
// image they wrap with Unwrap (as core/image's parent wrapper may).
func findCID(img disk.Image) (cider, bool) {
	for range 8 {
		if c, ok := img.(cider); ok {
			return c, true
		}
		u, ok := img.(interface{ Unwrap() disk.Image })
		if !ok {
			return nil, false
		}
		img = u.Unwrap()
	}
	return nil, false
}

func (m *Image) openParent(opts disk.Options) error {
	d := m.desc
	if d.parentCID == noParentCID || d.parentHint == "" {
		return nil
	}
	if opts.OpenParent == nil {
		return fmt.Errorf("vmdk: %s has parent %q but no way to open parents was given", m.path, d.parentHint)
	}
	p, err := opts.OpenParent(d.parentHint, m.path)
	if err != nil {
		return fmt.Errorf("vmdk: %s: open parent %q: %w", m.path, d.parentHint, err)
	}
	if c, ok := findCID(p); ok && c.CID() != d.parentCID {
		return m.ferr("descriptor", -1, fmt.Sprintf("parentCID %08x does not match the CID %08x of parent %q: the parent changed after this child was made", d.parentCID, c.CID(), d.parentHint), nil)
	}
	m.parent = p
	return nil
}

// CID is the content ID of the disk.
func (m *Image) CID() uint32 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.desc.cid
}

// Size is the virtual size.
func (m *Image) Size() int64 { return m.size }

// Info describes the image.
func (m *Image) Info() disk.Info {
	files := []string{m.path}
	for _, e := range m.extents {
		if e.owned {
			files = append(files, e.path)
		}
	}
	sub := m.desc.createType
	if sub == "" {
		sub = "monolithicSparse"
	}
	parent := ""
	if m.desc.parentCID != noParentCID {
		parent = m.desc.parentHint
	}
	return disk.Info{Format: "vmdk", Subformat: sub, VirtualSize: m.size, Files: files, Parent: parent, ReadOnly: m.readOnly != nil}
}

// Flush syncs every file written.
func (m *Image) Flush() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.flushLocked()
}

func (m *Image) flushLocked() error {
	if m.err != nil {
		return m.err
	}
	if !m.writable || m.closed {
		return nil
	}
	synced := map[disk.Backing]bool{}
	for _, b := range append([]disk.Backing{m.b}, m.extentBackings()...) {
		if synced[b] {
			continue
		}
		synced[b] = true
		if err := b.Sync(); err != nil {
			m.err = fmt.Errorf("vmdk: sync %s: %w", b.Name(), err)
			return m.err
		}
	}
	return nil
}

func (m *Image) extentBackings() []disk.Backing {
	var bs []disk.Backing
	for _, e := range m.extents {
		if e.owned && e.line.access == "RW" {
			bs = append(bs, e.b)
		}
	}
	return bs
}

// Close flushes and closes the extent files Open opened (not b).
func (m *Image) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	err := m.flushLocked()
	m.closed = true
	if cerr := m.closeExtents(); err == nil {
		err = cerr
	}
	return err
}

func (m *Image) closeExtents() error {
	var errs []error
	for _, e := range m.extents {
		if e.owned && e.b != nil {
			errs = append(errs, e.b.Close())
		}
	}
	return errors.Join(errs...)
}

// newCID picks a content ID different from the current one.
func newCID(old uint32) uint32 {
	for {
		if c := rand.Uint32(); c != old && c != noParentCID {
			return c
		}
	}
}
