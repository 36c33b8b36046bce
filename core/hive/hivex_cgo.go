//go:build cgo

package hive

/*
#cgo LDFLAGS: -lhivex
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <hivex.h>

static size_t hv_heap_in_use(void) {
	return mallinfo2().uordblks;
}

static size_t hv_count(const hive_node_h *a) {
	size_t n = 0;
	while (a[n] != 0) n++;
	return n;
}

static hive_set_value *hv_alloc_set(size_t n) {
	return calloc(n ? n : 1, sizeof(hive_set_value));
}

static void hv_put(hive_set_value *vs, size_t i, char *key, hive_type t, size_t len, char *val) {
	vs[i].key = key;
	vs[i].t = t;
	vs[i].len = len;
	vs[i].value = val;
}

static void hv_free_set(hive_set_value *vs, size_t n) {
	for (size_t i = 0; i < n; i++) {
		free(vs[i].key);
		free(vs[i].value);
	}
	free(vs);
}
*/
import "C"

import (
	"errors"
	"fmt"
	"unsafe"
)

// cHive is the only holder of a libhivex handle. It is written so that no
// C memory escapes: every pointer libhivex returns is copied and freed here
// (the go-hivex binding leaks all of them and reads past unterminated
// strings, which is why it is not used).
type cHive struct {
	h *C.hive_h
}

func openEngine(path string, write bool) (engine, error) {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	flags := C.int(0)
	if write {
		flags |= C.HIVEX_OPEN_WRITE
	}
	h, err := C.hivex_open(cpath, flags)
	if h == nil {
		return nil, fmt.Errorf("libhivex open %s: %w", path, errnoErr(err))
	}
	return &cHive{h: h}, nil
}

func errnoErr(err error) error {
	if err == nil {
		return errors.New("unknown libhivex error")
	}
	return err
}

func (c *cHive) root() (node, error) {
	r, err := C.hivex_root(c.h)
	if r == 0 {
		return 0, fmt.Errorf("libhivex root: %w", errnoErr(err))
	}
	return node(r), nil
}

func (c *cHive) child(parent node, name string) (node, bool, error) {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	r, err := C.hivex_node_get_child(c.h, C.hive_node_h(parent), cname)
	if r == 0 {
		if err != nil {
			return 0, false, fmt.Errorf("libhivex get child %q: %w", name, err)
		}
		return 0, false, nil
	}
	return node(r), true, nil
}

func (c *cHive) children(n node) ([]node, error) {
	a, err := C.hivex_node_children(c.h, C.hive_node_h(n))
	if a == nil {
		return nil, fmt.Errorf("libhivex children: %w", errnoErr(err))
	}
	defer C.free(unsafe.Pointer(a))
	cnt := int(C.hv_count(a))
	out := make([]node, cnt)
	for i, v := range unsafe.Slice(a, cnt) {
		out[i] = node(v)
	}
	return out, nil
}

func (c *cHive) name(n node) (string, error) {
	s, err := C.hivex_node_name(c.h, C.hive_node_h(n))
	if s == nil {
		return "", fmt.Errorf("libhivex node name: %w", errnoErr(err))
	}
	defer C.free(unsafe.Pointer(s))
	return C.GoString(s), nil
}

func (c *cHive) values(n node) ([]NamedValue, error) {
	a, err := C.hivex_node_values(c.h, C.hive_node_h(n))
	if a == nil {
		return nil, fmt.Errorf("libhivex values: %w", errnoErr(err))
	}
	defer C.free(unsafe.Pointer(a))
	cnt := int(C.hv_count((*C.hive_node_h)(unsafe.Pointer(a))))
	out := make([]NamedValue, 0, cnt)
	for _, v := range unsafe.Slice(a, cnt) {
		k, err := C.hivex_value_key(c.h, v)
		if k == nil {
			return nil, fmt.Errorf("libhivex value name: %w", errnoErr(err))
		}
		key := C.GoString(k)
		C.free(unsafe.Pointer(k))
		var t C.hive_type
		var l C.size_t
		d, err := C.hivex_value_value(c.h, v, &t, &l)
		if d == nil {
			return nil, fmt.Errorf("libhivex value %q data: %w", key, errnoErr(err))
		}
		if l > maxValueDataLen {
			C.free(unsafe.Pointer(d))
			return nil, fmt.Errorf("libhivex value %q: %d bytes: %w", key, l, ErrTooLarge)
		}
		data := C.GoBytes(unsafe.Pointer(d), C.int(l))
		C.free(unsafe.Pointer(d))
		out = append(out, NamedValue{Name: key, Value: Value{Type: Type(t), Data: data}})
	}
	return out, nil
}

func (c *cHive) addChild(parent node, name string) (node, error) {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	r, err := C.hivex_node_add_child(c.h, C.hive_node_h(parent), cname)
	if r == 0 {
		return 0, fmt.Errorf("libhivex add child %q: %w", name, errnoErr(err))
	}
	return node(r), nil
}

func (c *cHive) deleteChild(n node) error {
	if r, err := C.hivex_node_delete_child(c.h, C.hive_node_h(n)); r != 0 {
		return fmt.Errorf("libhivex delete child: %w", errnoErr(err))
	}
	return nil
}

func (c *cHive) setValues(n node, vals []NamedValue) error {
	cnt := C.size_t(len(vals))
	vs := C.hv_alloc_set(cnt)
	if vs == nil {
		return errors.New("libhivex set values: out of memory")
	}
	defer C.hv_free_set(vs, cnt)
	for i, v := range vals {
		// A zero-length value still needs a valid pointer; C.CBytes of an
		// empty slice returns one (malloc(0) may not), so pad to one byte
		// and pass the true length.
		buf := C.CBytes(append(v.Data[:len(v.Data):len(v.Data)], 0))
		C.hv_put(vs, C.size_t(i), C.CString(v.Name), C.hive_type(v.Type), C.size_t(len(v.Data)), (*C.char)(buf))
	}
	if r, err := C.hivex_node_set_values(c.h, C.hive_node_h(n), cnt, vs, 0); r != 0 {
		return fmt.Errorf("libhivex set values: %w", errnoErr(err))
	}
	return nil
}

func (c *cHive) commit() error {
	if r, err := C.hivex_commit(c.h, nil, 0); r != 0 {
		return fmt.Errorf("libhivex commit: %w", errnoErr(err))
	}
	return nil
}

func (c *cHive) close() error {
	if c.h == nil {
		return nil
	}
	r, err := C.hivex_close(c.h)
	c.h = nil
	if r != 0 {
		return fmt.Errorf("libhivex close: %w", errnoErr(err))
	}
	return nil
}

// cHeapInUse reports the C heap in use, so tests can prove the binding
// frees what libhivex returns.
func cHeapInUse() int { return int(C.hv_heap_in_use()) }
