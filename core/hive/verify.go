package hive

import (
	"fmt"
	"sort"
	"strings"
)

// expectations records what this session changed, by upper-cased path, so
// Commit can prove each change is in the bytes it returns.
type expectations struct {
	keys    map[string][]string          // created or edited keys
	values  map[string]map[string]*Value // path -> upper name -> value (nil: deleted)
	names   map[string]map[string]string // path -> upper name -> name as given
	deleted map[string][]string          // deleted keys
}

func newExpectations() *expectations {
	return &expectations{keys: map[string][]string{}, values: map[string]map[string]*Value{},
		names: map[string]map[string]string{}, deleted: map[string][]string{}}
}

func canon(parts []string) string { return strings.ToUpper(strings.Join(parts, `\`)) }

func (e *expectations) key(parts []string) {
	c := canon(parts)
	e.keys[c] = append([]string{}, parts...)
	delete(e.deleted, c)
}

func (e *expectations) value(parts []string, name string, v *Value) {
	c := canon(parts)
	e.key(parts)
	if e.values[c] == nil {
		e.values[c] = map[string]*Value{}
		e.names[c] = map[string]string{}
	}
	e.values[c][strings.ToUpper(name)] = v
	e.names[c][strings.ToUpper(name)] = name
}

func (e *expectations) deleteKey(parts []string) {
	c := canon(parts)
	for k := range e.keys {
		if k == c || strings.HasPrefix(k, c+`\`) {
			delete(e.keys, k)
			delete(e.values, k)
			delete(e.names, k)
		}
	}
	e.deleted[c] = append([]string{}, parts...)
}

// Check validates hive bytes without libhivex: base block (signature,
// checksum, equal sequence numbers, hive bins size), every hive bin and
// cell, and the whole key tree (lists, key and value records, no cycles).
// Use it on hive bytes read back from a written image.
func Check(name string, data []byte) error {
	_, err := checkClean(name, data)
	return err
}

func checkClean(name string, data []byte) (*reader, error) {
	r, bb, err := newReader(name, data)
	if err != nil {
		return nil, err
	}
	if bb.Seq1 != bb.Seq2 {
		return nil, formatErr(name, offSeq1, "base block", ErrVerify, "sequence numbers %d and %d differ", bb.Seq1, bb.Seq2)
	}
	if err := r.walk(nil); err != nil {
		return nil, err
	}
	return r, nil
}

func verify(name string, data []byte, e *expectations) error {
	r, err := checkClean(name, data)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrVerify, err)
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("hive %s: %w: %s", name, ErrVerify, fmt.Sprintf(format, args...))
	}
	paths := make([]string, 0, len(e.keys))
	for c := range e.keys {
		paths = append(paths, c)
	}
	sort.Strings(paths)
	for _, c := range paths {
		k, ok, err := r.lookup(e.keys[c])
		if err != nil {
			return fmt.Errorf("%w: %w", ErrVerify, err)
		}
		if !ok {
			return fail("key %q is missing", strings.Join(e.keys[c], `\`))
		}
		for up, want := range e.values[c] {
			got, ok, err := r.value(k, e.names[c][up])
			if err != nil {
				return fmt.Errorf("%w: %w", ErrVerify, err)
			}
			switch {
			case want == nil && ok:
				return fail("deleted value %q still in key %q", e.names[c][up], strings.Join(e.keys[c], `\`))
			case want != nil && !ok:
				return fail("value %q missing from key %q", e.names[c][up], strings.Join(e.keys[c], `\`))
			case want != nil && !got.Equal(*want):
				return fail("value %q in key %q reads back as %s, wrote %s", e.names[c][up], strings.Join(e.keys[c], `\`), got.Display(), want.Display())
			}
		}
	}
	for _, parts := range e.deleted {
		if _, ok, err := r.lookup(parts); err != nil || ok {
			return fail("deleted key %q still present (err %v)", strings.Join(parts, `\`), err)
		}
	}
	return nil
}
