//go:build cgo && linux

package hive

import (
	"errors"
	"fmt"
	"os"
	"runtime"

	hivex "github.com/gabriel-samfira/go-hivex"
)

// goHive drives libhivex through github.com/gabriel-samfira/go-hivex, the
// binding the project standardised on. That binding has traps, and every
// call to it goes through this file so the rest of the package never meets
// them:
//
//   - Zero-length data: NodeSetValue(s) take &Value[0] and panic on an
//     empty slice. Empty data is refused here with errors.ErrUnsupported
//     before the call, and each call also runs under recover.
//   - NodeSetValues replaces all of a key's values: a single set uses
//     NodeSetValue (hivex_node_set_value keeps the others, in C, including
//     any zero-length ones we could not pass back ourselves).
//   - ValueMultipleStrings reads past its buffer and ValueString assumes a
//     terminator: never called. Data is read raw with ValueValue and decoded
//     by value.go.
//   - C strings: C.CString stops at the first NUL, so a name with a NUL
//     would silently address another key or value; and libhivex crashes
//     (SIGSEGV) storing a name that is not valid UTF-8. Such lookups are
//     answered "absent" here (Hive falls back to its own comparison) and
//     such names are never written.
//   - errno: go-hivex returns the C errno as an error and throws the result
//     away whenever errno is non-zero, even if the call worked. libhivex
//     defines errno only on failure, and its successful calls run libc and
//     iconv code free to leave errno set (its name encoding tries Latin-1,
//     fails with EILSEQ, then UTF-16; libhivex 1.3.23 was not seen leaking
//     errno from the calls used here, but nothing promises it). So every
//     result is checked by value (a handle of 0 is "absent", or "failed"
//     when an error came with it), and after a reported error on an edit,
//     the edit is looked up: if it is in the hive exactly as asked, the
//     error was stale errno and is dropped. Commit is the exception: its
//     error is taken at its word (the Hive then refuses further writes).
//   - Leaks: go-hivex never frees what libhivex returns (names, handle
//     arrays, value data) nor the C copies of names it passes in. Node and
//     value names are cached, lookups walk only the path asked for, single
//     values are found with NodeGetValue (which leaks nothing) and sized
//     with NodeValueType (nothing) before ValueValue copies them. The bound
//     this leaves is in doc.go and asserted by TestCLeakBound.
//   - Go memory in C: NodeSetValue(s) store pointers to our Go slices in C
//     memory for the length of the call, out of sight of the garbage
//     collector, so the slices are kept alive across it.
type goHive struct {
	hx     hivexAPI
	path   string                      // the file libhivex edits and commits to
	names  map[node]string             // nk names never change; cleared on delete
	vnames map[node]map[vhandle]string // by key: an edit rewrites that key's vk records
}

// hivexAPI is the part of *hivex.Hivex used here, so tests can replay
// go-hivex's stale-errno behaviour around real calls.
type hivexAPI interface {
	Root() (int64, error)
	NodeGetChild(node int64, name string) (int64, error)
	NodeChildren(node int64) ([]int64, error)
	NodeName(node int64) (string, error)
	NodeParent(node int64) (int64, error)
	NodeNrValues(node int64) (int64, error)
	NodeValues(node int64) ([]int64, error)
	NodeGetValue(node int64, name string) (int64, error)
	NodeValueKey(value int64) (string, error)
	NodeValueType(value int64) (valueType, length int64, err error)
	ValueValue(value int64) (valType int64, valueBytes []byte, err error)
	NodeAddChild(parent int64, name string) (int64, error)
	NodeDeleteChild(node int64) (int, error)
	NodeSetValue(node int64, value hivex.HiveValue) (int, error)
	NodeSetValues(node int64, values []hivex.HiveValue) (int, error)
	Commit() (int, error)
	Close() error
}

// haveLibhivex: this build links libhivex through go-hivex.
const haveLibhivex = true

func openHivex(path string, write bool) (engine, error) {
	flags := hivex.READ
	if write {
		flags |= hivex.WRITE
	}
	hx, err := hivex.NewHivex(path, flags)
	if err != nil || hx == nil {
		return nil, fmt.Errorf("libhivex open %s: %w", path, errnoErr(err))
	}
	return &goHive{hx: hx, path: path, names: map[node]string{}, vnames: map[node]map[vhandle]string{}}, nil
}

func errnoErr(err error) error {
	if err == nil {
		return errors.New("unknown libhivex error")
	}
	return err
}

func (g *goHive) root() (node, error) {
	r, err := g.hx.Root()
	if err != nil || r <= 0 {
		return 0, fmt.Errorf("libhivex root: %w", errnoErr(err))
	}
	return node(r), nil
}

func (g *goHive) child(parent node, name string) (node, bool, error) {
	if unsendable(name) {
		return 0, false, nil
	}
	// hivex_node_get_child returns 0 both for "absent" (errno untouched)
	// and for failure (errno set).
	r, err := g.hx.NodeGetChild(int64(parent), name)
	if err != nil {
		return 0, false, fmt.Errorf("libhivex get child %q: %w", name, err)
	}
	if r <= 0 {
		return 0, false, nil
	}
	return node(r), true, nil
}

func (g *goHive) children(n node) ([]node, error) {
	a, err := g.hx.NodeChildren(int64(n))
	if err != nil {
		return nil, fmt.Errorf("libhivex children: %w", err)
	}
	out := make([]node, len(a))
	for i, v := range a {
		out[i] = node(v)
	}
	return out, nil
}

func (g *goHive) name(n node) (string, error) {
	if s, ok := g.names[n]; ok {
		return s, nil
	}
	s, err := g.hx.NodeName(int64(n))
	if err != nil {
		return "", fmt.Errorf("libhivex node name: %w", err)
	}
	g.names[n] = s
	return s, nil
}

func (g *goHive) value(n node, name string) (vhandle, bool, error) {
	if unsendable(name) {
		return 0, false, nil
	}
	r, err := g.hx.NodeGetValue(int64(n), name)
	if err != nil {
		return 0, false, fmt.Errorf("libhivex get value %q: %w", name, err)
	}
	if r <= 0 {
		return 0, false, nil
	}
	return vhandle(r), true, nil
}

func (g *goHive) valueName(n node, v vhandle) (string, error) {
	if s, ok := g.vnames[n][v]; ok {
		return s, nil
	}
	s, err := g.hx.NodeValueKey(int64(v))
	if err != nil {
		return "", fmt.Errorf("libhivex value name: %w", err)
	}
	if g.vnames[n] == nil {
		g.vnames[n] = map[vhandle]string{}
	}
	g.vnames[n][v] = s
	return s, nil
}

func (g *goHive) valueData(v vhandle) (Value, error) {
	// Size first: NodeValueType copies nothing, so an oversized value is
	// refused before ValueValue mallocs (and leaks) a copy of it, and
	// before go-hivex's C.int length conversion could overflow.
	_, l, err := g.hx.NodeValueType(int64(v))
	if err != nil {
		return Value{}, fmt.Errorf("libhivex value type: %w", err)
	}
	if l < 0 || l > maxValueDataLen {
		return Value{}, fmt.Errorf("libhivex value: %d bytes: %w", l, ErrTooLarge)
	}
	t, data, err := g.hx.ValueValue(int64(v))
	if err != nil {
		return Value{}, fmt.Errorf("libhivex value data: %w", err)
	}
	if int64(len(data)) != l {
		return Value{}, fmt.Errorf("libhivex value data: %d bytes, header says %d: %w", len(data), l, ErrCorrupt)
	}
	return Value{Type: Type(uint32(t)), Data: data}, nil
}

func (g *goHive) valueSizes(n node) ([]valueSize, error) {
	// NodeNrValues copies nothing; NodeValues leaks its array.
	if nr, err := g.hx.NodeNrValues(int64(n)); err == nil && nr == 0 {
		return nil, nil
	}
	vs, err := g.hx.NodeValues(int64(n))
	if err != nil {
		return nil, fmt.Errorf("libhivex values: %w", err)
	}
	out := make([]valueSize, len(vs))
	for i, v := range vs {
		_, l, err := g.hx.NodeValueType(v)
		if err != nil {
			return nil, fmt.Errorf("libhivex value type: %w", err)
		}
		out[i] = valueSize{v: vhandle(v), size: int(l)}
	}
	return out, nil
}

func (g *goHive) values(n node) ([]NamedValue, error) {
	vs, err := g.hx.NodeValues(int64(n))
	if err != nil {
		return nil, fmt.Errorf("libhivex values: %w", err)
	}
	out := make([]NamedValue, 0, len(vs))
	for _, v := range vs {
		key, err := g.valueName(n, vhandle(v))
		if err != nil {
			return nil, err
		}
		val, err := g.valueData(vhandle(v))
		if err != nil {
			return nil, fmt.Errorf("value %q: %w", key, err)
		}
		out = append(out, NamedValue{Name: key, Value: val})
	}
	return out, nil
}

func (g *goHive) addChild(parent node, name string) (node, error) {
	if unsendable(name) {
		return 0, fmt.Errorf("libhivex add child %q: name has a NUL or is not UTF-8: %w", name, ErrType)
	}
	r, err := g.hx.NodeAddChild(int64(parent), name)
	if err == nil && r > 0 {
		return node(r), nil
	}
	// A stale errno loses the handle of a key that was created: find it.
	if c, ok, cerr := g.child(parent, name); err != nil && cerr == nil && ok {
		return c, nil
	}
	return 0, fmt.Errorf("libhivex add child %q: %w", name, errnoErr(err))
}

func (g *goHive) deleteChild(n node) error {
	parent, perr := g.hx.NodeParent(int64(n))
	name, nerr := g.name(n)
	r, err := g.hx.NodeDeleteChild(int64(n))
	// Handles below n are gone, and libhivex may place new keys anywhere.
	clear(g.names)
	clear(g.vnames)
	if err == nil && r == 0 {
		return nil
	}
	if err != nil && perr == nil && nerr == nil && parent > 0 {
		if _, ok, cerr := g.child(node(parent), name); cerr == nil && !ok {
			return nil // stale errno: the key is gone as asked
		}
	}
	return fmt.Errorf("libhivex delete child: %w", errnoErr(err))
}

// noPanic turns a panic inside go-hivex into an error, as a second line
// behind sendable.
func noPanic(op string, f func() (int, error)) (r int, err error) {
	defer func() {
		if p := recover(); p != nil {
			r, err = -1, fmt.Errorf("go-hivex %s panicked: %v: %w", op, p, errors.ErrUnsupported)
		}
	}()
	return f()
}

func toHiveValue(v NamedValue) hivex.HiveValue {
	return hivex.HiveValue{Type: int(v.Type), Key: v.Name, Value: append([]byte(nil), v.Data...)}
}

func (g *goHive) setValue(n node, v NamedValue) error {
	if err := sendable(v); err != nil {
		return err
	}
	hv := toHiveValue(v)
	r, err := noPanic("NodeSetValue", func() (int, error) { return g.hx.NodeSetValue(int64(n), hv) })
	// go-hivex left a pointer to hv.Value in C memory for the call.
	runtime.KeepAlive(hv.Value)
	delete(g.vnames, n)
	if err == nil && r == 0 {
		return nil
	}
	if err != nil && r == 0 && g.holds(n, v) {
		return nil // stale errno: the value is there as asked
	}
	return fmt.Errorf("libhivex set value %q: %w", v.Name, errnoErr(err))
}

func (g *goHive) setValues(n node, vals []NamedValue) error {
	hvs := make([]hivex.HiveValue, len(vals))
	for i, v := range vals {
		if err := sendable(v); err != nil {
			return err
		}
		hvs[i] = toHiveValue(v)
	}
	r, err := noPanic("NodeSetValues", func() (int, error) { return g.hx.NodeSetValues(int64(n), hvs) })
	// go-hivex left pointers to every hvs[i].Value in C memory for the call.
	runtime.KeepAlive(hvs)
	delete(g.vnames, n)
	if err == nil && r == 0 {
		return nil
	}
	if err != nil && r == 0 && g.holdsExactly(n, vals) {
		return nil
	}
	return fmt.Errorf("libhivex set values: %w", errnoErr(err))
}

// holds reports whether n has a value stored under exactly v.Name with
// v's type and data.
func (g *goHive) holds(n node, v NamedValue) bool {
	h, ok, err := g.value(n, v.Name)
	if err != nil || !ok {
		return false
	}
	name, err := g.valueName(n, h)
	if err != nil || name != v.Name {
		return false
	}
	got, err := g.valueData(h)
	return err == nil && got.Equal(v.Value)
}

// holdsExactly reports whether n's values are vals, in order.
func (g *goHive) holdsExactly(n node, vals []NamedValue) bool {
	got, err := g.values(n)
	if err != nil || len(got) != len(vals) {
		return false
	}
	for i := range got {
		if got[i].Name != vals[i].Name || !got[i].Equal(vals[i].Value) {
			return false
		}
	}
	return true
}

func (g *goHive) commit() error {
	// hivex_commit returns 0 or -1; go-hivex hides which when errno is
	// set, so an error is taken at its word: the Hive turns it sticky and
	// the bytes are not used.
	r, err := g.hx.Commit()
	if err != nil || r != 0 {
		return fmt.Errorf("libhivex commit: %w", errnoErr(err))
	}
	return nil
}

func (g *goHive) close() error {
	if g.hx == nil {
		return nil
	}
	err := g.hx.Close()
	g.hx = nil
	if err != nil {
		return fmt.Errorf("libhivex close: %w", err)
	}
	return nil
}

func (g *goHive) limits() engineLimits { return engineLimits{noBigData: true, noEmptyData: true} }

func (g *goHive) contents() ([]byte, error) { return os.ReadFile(g.path) }
