package vhdx

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/pvinject/pvinject/core/disk"
)

// ErrParentMismatch: the parent found is not the disk the child was made
// from (its DataWriteGuid is not the child's parent_linkage).
var ErrParentMismatch = errors.New("vhdx: parent DataWriteGuid does not match the differencing disk's parent_linkage")

type linked interface{ DataWriteGUID() string }

func (m *Image) openParent(opts disk.Options) error {
	kv := m.md.Parent
	var refs []string
	for _, k := range []string{"relative_path", "volume_path", "absolute_win32_path"} {
		v := kv[k]
		if v == "" || slices.Contains(refs, v) {
			continue
		}
		refs = append(refs, v)
		// Windows writes absolute paths in extended form (\\?\d:\dir\parent.vhdx);
		// the plain form is what path resolvers understand.
		if plain, ok := strings.CutPrefix(v, `\\?\`); ok && len(plain) >= 2 && plain[1] == ':' && !slices.Contains(refs, plain) {
			refs = append(refs, plain)
		}
	}
	if len(refs) == 0 {
		return formatErr(m.path, "parent locator", -1, "differencing disk names no parent path")
	}
	m.parentRef = refs[0]
	if opts.OpenParent == nil {
		return fmt.Errorf("vhdx: %s is a differencing disk of %q, but no way to open parents was given", m.path, refs[0])
	}
	var errs []error
	for _, ref := range refs {
		p, err := opts.OpenParent(ref, m.path)
		if err != nil {
			errs = append(errs, fmt.Errorf("parent %q: %w", ref, err))
			continue
		}
		m.parentRef = ref
		if l, ok := p.(linked); ok {
			got := l.DataWriteGUID()
			if !sameGUID(got, kv["parent_linkage"]) && !sameGUID(got, kv["parent_linkage2"]) {
				return fmt.Errorf("vhdx: %s: parent %q has DataWriteGuid %s, the differencing disk expects %s: %w",
					m.path, ref, got, kv["parent_linkage"], ErrParentMismatch)
			}
		} else {
			slog.Warn("vhdx: parent is not a VHDX image this package can identify; parent_linkage was not checked", "file", m.path, "parent", ref)
		}
		m.parent = p
		return nil
	}
	return fmt.Errorf("vhdx: %s: cannot open the parent of this differencing disk: %w", m.path, errors.Join(errs...))
}

func sameGUID(a, b string) bool {
	norm := func(s string) string { return strings.ToUpper(strings.Trim(strings.TrimSpace(s), "{}")) }
	return b != "" && norm(a) == norm(b)
}
