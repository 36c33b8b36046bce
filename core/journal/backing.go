package journal

import (
	"fmt"

	"github.com/pvinject/pvinject/core/disk"
)

// backing journals every change before passing it to the file beneath.
type backing struct {
	disk.Backing
	o  *Opener
	st *fileState
}

func (b *backing) WriteAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("journal: write %s at negative offset %d", b.Name(), off)
	}
	b.o.mu.Lock()
	defer b.o.mu.Unlock()
	if err := b.o.writable(); err != nil {
		return 0, err
	}
	if err := b.o.preserve(b.Backing, b.st, off, off+int64(len(p))); err != nil {
		return 0, err
	}
	b.o.alive()
	return b.Backing.WriteAt(p, off)
}

func (b *backing) Truncate(size int64) error {
	if size < 0 {
		return fmt.Errorf("journal: truncate %s to negative size %d", b.Name(), size)
	}
	b.o.mu.Lock()
	defer b.o.mu.Unlock()
	if err := b.o.writable(); err != nil {
		return err
	}
	if err := b.o.preserve(b.Backing, b.st, size, b.st.origSize); err != nil {
		return err
	}
	b.o.alive()
	return b.Backing.Truncate(size)
}

// fdBacking also exposes the descriptor of the file beneath, for formats
// that map holes with lseek (core/disk/raw). lseek never changes data.
type fdBacking struct{ *backing }

func (b fdBacking) Fd() uintptr { return b.Backing.(interface{ Fd() uintptr }).Fd() }

func wrap(b *backing) disk.Backing {
	if _, ok := b.Backing.(interface{ Fd() uintptr }); ok {
		return fdBacking{b}
	}
	return b
}

// writable refuses writes once the journal is sealed: the seal's hashes
// describe the files as they were then.
func (o *Opener) writable() error {
	if o.sealed {
		return fmt.Errorf("journal: %s is sealed; no more writes", o.path)
	}
	return nil
}
