package vhd

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/pvinject/pvinject/core/disk"
)

// ErrParentMismatch: the parent found is not the disk the child was made
// from (its unique id differs from the one the child recorded).
var ErrParentMismatch = errors.New("vpc: parent unique id does not match the differencing disk's record")

// identified is implemented by VHD images (and wrappers that forward it).
type identified interface{ UniqueID() [16]byte }

// parentRefs lists where the parent may be, most reliable first: the
// relative locator (survives moving the folder), the absolute one, then the
// bare name in the header.
func (m *Image) parentRefs() ([]string, error) {
	var refs []string
	add := func(s string) {
		if s != "" && !slices.Contains(refs, s) {
			refs = append(refs, s)
		}
	}
	for _, want := range []uint32{platW2ru, platW2ku} {
		for i, l := range m.hdr.Locators {
			if l.Code != want || l.DataLength == 0 {
				continue
			}
			if l.DataLength > maxLocatorBytes || l.DataOffset > uint64(m.fileSize) || uint64(m.fileSize)-l.DataOffset < uint64(l.DataLength) {
				return nil, formatErr(m.path, "parent locator", int64(m.ft.DataOffset)+576+24*int64(i),
					"locator %d data (%d bytes at %d) is outside the file or larger than %d bytes", i, l.DataLength, l.DataOffset, maxLocatorBytes)
			}
			buf := make([]byte, l.DataLength)
			if err := readFull(m.b, buf, int64(l.DataOffset)); err != nil {
				return nil, fmt.Errorf("vpc: read parent locator of %s: %w", m.path, err)
			}
			add(decodeUTF16LE(buf))
		}
	}
	add(m.hdr.ParentName)
	return refs, nil
}

// openParent opens the parent through opts.OpenParent and checks its id.
func (m *Image) openParent(opts disk.Options) error {
	refs, err := m.parentRefs()
	if err != nil {
		return err
	}
	if len(refs) == 0 {
		return formatErr(m.path, "parent locator", -1, "differencing disk names no parent (no W2ru/W2ku locator and no parent name)")
	}
	m.parentRef = refs[0]
	if opts.OpenParent == nil {
		return fmt.Errorf("vpc: %s is a differencing disk of %q, but no way to open parents was given", m.path, refs[0])
	}
	var errs []error
	for _, ref := range refs {
		p, err := opts.OpenParent(ref, m.path)
		if err != nil {
			errs = append(errs, fmt.Errorf("parent %q: %w", ref, err))
			continue
		}
		m.parentRef = ref
		if id, ok := p.(identified); ok {
			if got := id.UniqueID(); got != m.hdr.ParentUniqueID {
				return fmt.Errorf("vpc: %s: parent %q has unique id %x, the differencing disk expects %x: %w",
					m.path, ref, got, m.hdr.ParentUniqueID, ErrParentMismatch)
			}
		} else {
			slog.Warn("vpc: parent is not a VHD image this package can identify; its unique id was not checked", "file", m.path, "parent", ref)
		}
		m.parent = p
		return nil
	}
	return fmt.Errorf("vpc: %s: cannot open the parent of this differencing disk: %w", m.path, errors.Join(errs...))
}
