package hive

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Limits Windows applies to names; libhivex does not check them.
const (
	maxKeyNameChars   = 255
	maxValueNameChars = 16383
	libhivexMaxCell   = 1000000 - 8 // HIVEX_MAX_ALLOCATION, less the cell header
)

func checkName(kind, s string, limit int) error {
	if n := len(utf16.Encode([]rune(s))); n > limit {
		return fmt.Errorf("hive: %s name %q has %d UTF-16 units, Windows allows %d: %w", kind, s, n, limit, ErrTooLarge)
	}
	if strings.ContainsRune(s, 0) {
		return fmt.Errorf("hive: %s name %q contains NUL: %w", kind, s, ErrType)
	}
	// libhivex encodes names from UTF-8 and, when that fails, writes
	// through a NULL pointer (SIGSEGV in hivex_node_set_values, found by
	// FuzzEdit): no invalid UTF-8 may reach it.
	if !utf8.ValidString(s) {
		return fmt.Errorf("hive: %s name %q is not valid UTF-8: %w", kind, s, ErrType)
	}
	return nil
}

// fail makes err sticky: after libhivex failed half way through an edit, or
// a commit did not verify, the in-memory hive can no longer be trusted, so
// every later write and Commit returns the same error.
func (h *Hive) fail(err error) error {
	if h.failed == nil {
		h.failed = err
	}
	return err
}

// CreateKey creates the key at path and any missing parents; an existing
// key is not an error.
func (h *Hive) CreateKey(path string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := h.createKey(path)
	return err
}

func (h *Hive) createKey(path string) (node, error) {
	if err := h.checkWritable(); err != nil {
		return 0, err
	}
	parts := splitPath(path)
	for _, p := range parts {
		if err := checkName("key", p, maxKeyNameChars); err != nil {
			return 0, err
		}
	}
	n, err := h.eng.root()
	if err != nil {
		return 0, fmt.Errorf("hive %s: %w", h.name, err)
	}
	for i, p := range parts {
		c, ok, err := h.child(n, p)
		if err != nil {
			return 0, fmt.Errorf("hive %s: key %q: %w", h.name, path, err)
		}
		if !ok {
			if c, err = h.eng.addChild(n, p); err != nil {
				return 0, h.fail(fmt.Errorf("hive %s: create key %q: %w", h.name, strings.Join(parts[:i+1], `\`), err))
			}
			h.expect.key(parts[:i+1])
			if h.created == nil {
				h.created = map[node]bool{}
			}
			h.created[c] = true
		}
		n = c
	}
	return n, nil
}

// tooLarge reports whether libhivex would damage a value of size bytes
// when it rewrites the value's key: libhivex writes every value as a
// single cell, but hives of version 1.4+ must keep data over 16344 bytes
// in big-data segments, and Windows would misread such a cell. libhivex
// also refuses cells near 1 MB outright, which would leave the edit half
// done. The pure-Go engine writes big-data records, so with it the only
// bound is the size the reader reads back.
func (h *Hive) tooLarge(size int) bool {
	if !h.eng.limits().noBigData {
		return size > maxValueDataLen // what the reader reads back
	}
	return size > libhivexMaxCell || (h.minor > 3 && size > bigDataSegment)
}

func (h *Hive) tooLargeErr(path, name string, size int) error {
	if !h.eng.limits().noBigData {
		return fmt.Errorf("hive %s: key %q: value %q holds %d bytes, more than the %d this program writes: %w",
			h.name, path, name, size, maxValueDataLen, ErrTooLarge)
	}
	return fmt.Errorf("hive %s: key %q: value %q holds %d bytes; rewriting this key through libhivex would store it in a form Windows misreads: %w",
		h.name, path, name, size, ErrTooLarge)
}

// checkRewritable refuses to rewrite a key's value list when libhivex
// would damage one of its values (see tooLarge).
func (h *Hive) checkRewritable(path string, vals []NamedValue) error {
	for _, v := range vals {
		if h.tooLarge(len(v.Data)) {
			return h.tooLargeErr(path, v.Name, len(v.Data))
		}
	}
	return nil
}

// SetValue sets one value of the key at path, creating the key (and its
// parents) if needed, and keeping every other value of the key as it was.
// name "" is the default value. Name matching is case-insensitive; an
// existing value keeps its stored name. Zero-length data is refused with
// an error matching errors.ErrUnsupported (the go-hivex binding cannot
// pass it to libhivex).
func (h *Hive) SetValue(path, name string, v Value) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := checkName("value", name, maxValueNameChars); err != nil {
		return err
	}
	nv := NamedValue{Name: name, Value: Value{Type: v.Type, Data: append([]byte{}, v.Data...)}}
	if err := h.checkRewritable(path, []NamedValue{nv}); err != nil {
		return err
	}
	if err := h.sendable(nv); err != nil {
		return fmt.Errorf("hive %s: key %q: %w", h.name, path, err)
	}
	n, err := h.createKey(path)
	if err != nil {
		return err
	}
	old, exists, err := h.findValue(n, name)
	if err != nil {
		return fmt.Errorf("hive %s: key %q: %w", h.name, path, err)
	}
	if exists {
		if nv.Name, err = h.eng.valueName(n, old); err != nil {
			return fmt.Errorf("hive %s: key %q: %w", h.name, path, err)
		}
	}
	// libhivex copies the key's other values back itself, in C; the one
	// being replaced is dropped, the rest must survive a rewrite. Listing
	// them leaks (go-hivex), so keys made this session are not listed.
	var sizes []valueSize
	if !h.created[n] {
		if sizes, err = h.eng.valueSizes(n); err != nil {
			return fmt.Errorf("hive %s: key %q: %w", h.name, path, err)
		}
	}
	for _, s := range sizes {
		if (!exists || s.v != old) && h.tooLarge(s.size) {
			other, err := h.eng.valueName(n, s.v)
			if err != nil {
				return fmt.Errorf("hive %s: key %q: %w", h.name, path, err)
			}
			return h.tooLargeErr(path, other, s.size)
		}
	}
	if err := h.eng.setValue(n, nv); err != nil {
		return h.fail(fmt.Errorf("hive %s: set %q in key %q: %w", h.name, name, path, err))
	}
	h.expect.value(splitPath(path), name, &nv.Value)
	return nil
}

// unsendable reports names the binding cannot pass intact (C.CString
// stops at a NUL) or libhivex cannot encode (invalid UTF-8).
func unsendable(name string) bool {
	return strings.ContainsRune(name, 0) || !utf8.ValidString(name)
}

// sendable keeps from go-hivex what it cannot pass to libhivex intact:
// zero-length data (it takes &Value[0] and panics) and names with a NUL
// or invalid UTF-8 (see unsendable).
func sendable(v NamedValue) error {
	if len(v.Data) == 0 {
		return fmt.Errorf("value %q has zero-length %s data, which the go-hivex binding cannot pass to libhivex: %w", v.Name, v.Type, errors.ErrUnsupported)
	}
	if unsendable(v.Name) {
		return fmt.Errorf("value name %q has a NUL or is not UTF-8, which the go-hivex binding cannot pass to libhivex intact: %w", v.Name, errors.ErrUnsupported)
	}
	return nil
}

// sendable applies sendable where the engine is libhivex: the pure-Go
// engine writes zero-length data and any name checkName allows.
func (h *Hive) sendable(v NamedValue) error {
	if !h.eng.limits().noEmptyData {
		return nil
	}
	return sendable(v)
}

// DeleteValue removes one value, keeping the others. A missing value
// gives an error matching ErrNotFound.
func (h *Hive) DeleteValue(path, name string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.checkWritable(); err != nil {
		return err
	}
	n, kept, err := h.keptValues(path, name)
	if err != nil {
		return err
	}
	if err := h.eng.setValues(n, kept); err != nil {
		return h.fail(fmt.Errorf("hive %s: delete %q in key %q: %w", h.name, name, path, err))
	}
	h.expect.value(splitPath(path), name, nil)
	return nil
}

// CanDeleteValue reports, without writing, why DeleteValue(path, name)
// would fail, so a planner can choose another edit before anything is
// written (a key holding a zero-length value cannot be rewritten).
func (h *Hive) CanDeleteValue(path, name string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, _, err := h.keptValues(path, name)
	return err
}

// keptValues is the key's values without name: what libhivex must be given
// to delete it, checked to be sendable.
func (h *Hive) keptValues(path, name string) (node, []NamedValue, error) {
	n, err := h.mustLookup(path)
	if err != nil {
		return n, nil, err
	}
	vals, err := h.eng.values(n)
	if err != nil {
		return n, nil, fmt.Errorf("hive %s: key %q: %w", h.name, path, err)
	}
	kept := vals[:0:0]
	for _, v := range vals {
		if !strings.EqualFold(v.Name, name) {
			kept = append(kept, v)
		}
	}
	if len(kept) == len(vals) {
		return n, nil, h.notFound(fmt.Sprintf("value %q in key %q", name, path))
	}
	if err := h.checkRewritable(path, kept); err != nil {
		return n, nil, err
	}
	// Deleting means handing libhivex every value that stays, and go-hivex
	// cannot pass one with zero-length data (or a name with a NUL).
	for _, v := range kept {
		if err := h.sendable(v); err != nil {
			return n, nil, fmt.Errorf("hive %s: cannot delete %q from key %q, the key's other values would be rewritten and %w", h.name, name, path, err)
		}
	}
	return n, kept, nil
}

// DeleteKey removes a key with all its subkeys and values. The root cannot
// be deleted; a missing key gives an error matching ErrNotFound.
func (h *Hive) DeleteKey(path string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.checkWritable(); err != nil {
		return err
	}
	parts := splitPath(path)
	if len(parts) == 0 {
		return fmt.Errorf("hive %s: the root key cannot be deleted: %w", h.name, ErrType)
	}
	n, err := h.mustLookup(path)
	if err != nil {
		return err
	}
	clear(h.created) // conservative: handles under n are gone
	if err := h.eng.deleteChild(n); err != nil {
		return h.fail(fmt.Errorf("hive %s: delete key %q: %w", h.name, path, err))
	}
	h.expect.deleteKey(parts)
	return nil
}

// Commit writes the edits and returns the complete new hive bytes, ready
// to be written back over the original file. Before returning, the bytes
// are checked without libhivex: header signature, checksum and sequence
// numbers, hive bins and cells, the whole key tree, and every value and
// key this session set or deleted. The Hive stays open for more edits.
func (h *Hive) Commit() ([]byte, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.checkWritable(); err != nil {
		return nil, err
	}
	if err := h.eng.commit(); err != nil {
		return nil, h.fail(fmt.Errorf("hive %s: %w", h.name, err))
	}
	data, err := h.eng.contents()
	if err != nil {
		return nil, h.fail(fmt.Errorf("hive %s: read back commit: %w", h.name, err))
	}
	if err := verify(h.name, data, h.expect); err != nil {
		return nil, h.fail(err)
	}
	return data, nil
}
