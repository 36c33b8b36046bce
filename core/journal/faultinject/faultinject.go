// Package faultinject is a disk.Opener for tests that simulates the writer
// dying or the disk failing after a given number of host-file writes. It sits
// beneath a format (and beneath core/journal), so it sees exactly the writes
// that would reach the host files.
package faultinject

import (
	"errors"
	"fmt"
	"sync"

	"github.com/pvinject/pvinject/core/disk"
)

// ErrKilled is returned for every write refused by the injector.
var ErrKilled = errors.New("faultinject: writer killed")

// Mode says what happens at the write after the limit.
type Mode int

const (
	// Kill: that write and every later one fail without touching the file,
	// as if the process had died just before it.
	Kill Mode = iota
	// Torn: that write reaches the file only half-way (a crash mid-write),
	// then everything fails as with Kill.
	Torn
	// FailOnce: only that write fails; later ones succeed (an I/O error).
	FailOnce
)

// Opener counts writes (WriteAt, Truncate and Create each count as one)
// through every file it opens and injects a fault after After of them.
// After 0 never injects: use it to count a workload's writes.
type Opener struct {
	Inner disk.Opener // nil: the host filesystem
	After int
	Mode  Mode

	mu     sync.Mutex
	n      int
	killed bool
}

// Writes is how many writes were attempted so far.
func (o *Opener) Writes() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.n
}

// Killed reports whether the fault fired.
func (o *Opener) Killed() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.killed
}

func (o *Opener) inner() disk.Opener {
	if o.Inner == nil {
		return disk.OSOpener{}
	}
	return o.Inner
}

// admit counts one write and says whether it may happen, and whether only
// half of it may (Torn).
func (o *Opener) admit() (ok, half bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.n++
	if o.killed && o.Mode != FailOnce {
		return false, false
	}
	if o.After > 0 && o.n == o.After+1 {
		o.killed = true
		return false, o.Mode == Torn
	}
	return true, false
}

// Open opens a file whose writes are counted.
func (o *Opener) Open(path string, writable bool) (disk.Backing, error) {
	b, err := o.inner().Open(path, writable)
	if err != nil {
		return nil, err
	}
	return wrap(&backing{Backing: b, o: o}), nil
}

// Create counts as a write.
func (o *Opener) Create(path string) (disk.Backing, error) {
	if ok, _ := o.admit(); !ok {
		return nil, fmt.Errorf("create %s: %w", path, ErrKilled)
	}
	b, err := o.inner().Create(path)
	if err != nil {
		return nil, err
	}
	return wrap(&backing{Backing: b, o: o}), nil
}

type backing struct {
	disk.Backing
	o *Opener
}

func (b *backing) WriteAt(p []byte, off int64) (int, error) {
	ok, half := b.o.admit()
	if ok {
		return b.Backing.WriteAt(p, off)
	}
	n := 0
	if half && len(p) > 1 {
		n, _ = b.Backing.WriteAt(p[:len(p)/2], off)
	}
	return n, fmt.Errorf("write %s at %d: %w", b.Name(), off, ErrKilled)
}

func (b *backing) Truncate(size int64) error {
	if ok, _ := b.o.admit(); !ok {
		return fmt.Errorf("truncate %s: %w", b.Name(), ErrKilled)
	}
	return b.Backing.Truncate(size)
}

// Sync after a kill fails too: a dead process syncs nothing.
func (b *backing) Sync() error {
	if b.o.Killed() && b.o.Mode != FailOnce {
		return fmt.Errorf("sync %s: %w", b.Name(), ErrKilled)
	}
	return b.Backing.Sync()
}

type fdBacking struct{ *backing }

func (b fdBacking) Fd() uintptr { return b.Backing.(interface{ Fd() uintptr }).Fd() }

func wrap(b *backing) disk.Backing {
	if _, ok := b.Backing.(interface{ Fd() uintptr }); ok {
		return fdBacking{b}
	}
	return b
}
