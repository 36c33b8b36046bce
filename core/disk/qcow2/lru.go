package qcow2

import "container/list"

// lru is a small bounded cache keyed by host offset. It is not safe for
// concurrent use: the image's mutex guards it.
type lru[V any] struct {
	max int
	m   map[int64]*list.Element
	l   list.List
}

type lruItem[V any] struct {
	key int64
	val V
}

func newLRU[V any](max int) *lru[V] {
	return &lru[V]{max: max, m: make(map[int64]*list.Element)}
}

func (c *lru[V]) get(k int64) (V, bool) {
	if e, ok := c.m[k]; ok {
		c.l.MoveToFront(e)
		return e.Value.(*lruItem[V]).val, true
	}
	var zero V
	return zero, false
}

func (c *lru[V]) put(k int64, v V) {
	if e, ok := c.m[k]; ok {
		e.Value.(*lruItem[V]).val = v
		c.l.MoveToFront(e)
		return
	}
	c.m[k] = c.l.PushFront(&lruItem[V]{k, v})
	for c.l.Len() > c.max {
		old := c.l.Back()
		c.l.Remove(old)
		delete(c.m, old.Value.(*lruItem[V]).key)
	}
}
