// Package lru is the small bounded cache the sparse formats keep their
// metadata tables in (qcow2 L2 and refcount blocks, VMDK grain tables, and
// the last few decompressed clusters), keyed by host offset.
package lru

import "container/list"

// Cache is a bounded least-recently-used cache. It is not safe for
// concurrent use: the image's mutex guards it.
type Cache[V any] struct {
	max int
	m   map[int64]*list.Element
	l   list.List
}

type item[V any] struct {
	key int64
	val V
}

// New returns a cache holding at most max entries.
func New[V any](max int) *Cache[V] {
	return &Cache[V]{max: max, m: make(map[int64]*list.Element)}
}

// Get returns the value for k and marks it most recently used.
func (c *Cache[V]) Get(k int64) (V, bool) {
	if e, ok := c.m[k]; ok {
		c.l.MoveToFront(e)
		return e.Value.(*item[V]).val, true
	}
	var zero V
	return zero, false
}

// Put stores v for k, evicting the least recently used entries past max.
func (c *Cache[V]) Put(k int64, v V) {
	if e, ok := c.m[k]; ok {
		e.Value.(*item[V]).val = v
		c.l.MoveToFront(e)
		return
	}
	c.m[k] = c.l.PushFront(&item[V]{k, v})
	for c.l.Len() > c.max {
		old := c.l.Back()
		c.l.Remove(old)
		delete(c.m, old.Value.(*item[V]).key)
	}
}
