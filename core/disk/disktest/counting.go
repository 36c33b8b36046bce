package disktest

import (
	"sync/atomic"

	"github.com/pvinject/pvinject/core/disk"
)

// CountingOpener counts the bytes read from and written to the host files
// it opens, so a test can measure what a whole run reads.
type CountingOpener struct {
	Inner         disk.Opener // nil is disk.OSOpener
	Read, Written atomic.Int64
}

func (c *CountingOpener) inner() disk.Opener {
	if c.Inner == nil {
		return disk.OSOpener{}
	}
	return c.Inner
}

func (c *CountingOpener) wrap(b disk.Backing, err error) (disk.Backing, error) {
	if err != nil {
		return nil, err
	}
	return &countingBacking{Backing: b, c: c}, nil
}

// Open implements disk.Opener.
func (c *CountingOpener) Open(p string, w bool) (disk.Backing, error) {
	return c.wrap(c.inner().Open(p, w))
}

// Create implements disk.Opener.
func (c *CountingOpener) Create(p string) (disk.Backing, error) { return c.wrap(c.inner().Create(p)) }

type countingBacking struct {
	disk.Backing
	c *CountingOpener
}

func (b *countingBacking) ReadAt(p []byte, off int64) (int, error) {
	n, err := b.Backing.ReadAt(p, off)
	b.c.Read.Add(int64(n))
	return n, err
}

func (b *countingBacking) WriteAt(p []byte, off int64) (int, error) {
	n, err := b.Backing.WriteAt(p, off)
	b.c.Written.Add(int64(n))
	return n, err
}
