package disk

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
)

// strictDisk behaves like a Windows raw disk handle: any access whose
// offset or length is not a whole number of sectors fails.
type strictDisk struct {
	data   []byte
	sector int64
	calls  int
}

func (d *strictDisk) check(n int, off int64) error {
	d.calls++
	if off%d.sector != 0 || int64(n)%d.sector != 0 {
		return fmt.Errorf("unaligned access: %d bytes at %d", n, off)
	}
	return nil
}

func (d *strictDisk) ReadAt(p []byte, off int64) (int, error) {
	if err := d.check(len(p), off); err != nil {
		return 0, err
	}
	if off >= int64(len(d.data)) {
		return 0, io.EOF
	}
	n := copy(p, d.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (d *strictDisk) WriteAt(p []byte, off int64) (int, error) {
	if err := d.check(len(p), off); err != nil {
		return 0, err
	}
	if off+int64(len(p)) > int64(len(d.data)) {
		return 0, errors.New("write past the end of the disk")
	}
	return copy(d.data[off:], p), nil
}

// TestSectorIO: random unaligned reads and writes through sectorIO over a
// disk that refuses unaligned access give the same bytes as a plain
// in-memory model, and writes leave the rest of each sector alone.
func TestSectorIO(t *testing.T) {
	const size = 64 << 10
	for _, sector := range []int64{512, 4096} {
		t.Run(fmt.Sprint(sector), func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, uint64(sector)))
			dev := &strictDisk{data: make([]byte, size), sector: 512}
			for i := range dev.data {
				dev.data[i] = byte(i * 7)
			}
			model := bytes.Clone(dev.data)
			s := sectorIO{dev: dev, sector: sector}
			for i := 0; i < 2000; i++ {
				off := r.Int64N(size)
				n := r.IntN(int(min(9000, size-off)) + 1)
				if r.IntN(2) == 0 {
					p := make([]byte, n)
					for j := range p {
						p[j] = byte(r.Uint32())
					}
					if w, err := s.WriteAt(p, off); err != nil || w != n {
						t.Fatalf("WriteAt(%d bytes at %d) = %d, %v", n, off, w, err)
					}
					copy(model[off:], p)
				} else {
					p := make([]byte, n)
					if got, err := s.ReadAt(p, off); err != nil || got != n {
						t.Fatalf("ReadAt(%d bytes at %d) = %d, %v", n, off, got, err)
					}
					if !bytes.Equal(p, model[off:off+int64(n)]) {
						t.Fatalf("ReadAt(%d bytes at %d) differs from the model", n, off)
					}
				}
			}
			if !bytes.Equal(dev.data, model) {
				t.Fatal("disk differs from the model after the random writes")
			}
			// A read running off the end returns what is there and io.EOF.
			p := make([]byte, 100)
			if n, err := s.ReadAt(p, size-10); n != 10 || !errors.Is(err, io.EOF) {
				t.Errorf("ReadAt past the end = %d, %v; want 10, EOF", n, err)
			}
		})
	}
}
