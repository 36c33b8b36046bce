package inspect

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/pvinject/pvinject/core/disk"
)

// countingOpener counts every byte read from host files and fails the test
// if anything is opened for writing, created, or written: the layers under
// Inspect must never even try, whatever readOnlyOpener would do about it.
type countingOpener struct {
	t     testing.TB
	bytes atomic.Int64
	reads atomic.Int64
	mu    sync.Mutex
	files map[string]bool
}

func newCountingOpener(t testing.TB) *countingOpener {
	return &countingOpener{t: t, files: map[string]bool{}}
}

func (c *countingOpener) Open(path string, writable bool) (disk.Backing, error) {
	if writable {
		c.t.Errorf("inspection opened %s for writing", path)
	}
	b, err := disk.OSOpener{}.Open(path, false)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.files[path] = true
	c.mu.Unlock()
	return &countingBacking{Backing: b, c: c}, nil
}

func (c *countingOpener) Create(path string) (disk.Backing, error) {
	c.t.Errorf("inspection created %s", path)
	return nil, os.ErrPermission
}

type countingBacking struct {
	disk.Backing
	c *countingOpener
}

func (b *countingBacking) ReadAt(p []byte, off int64) (int, error) {
	n, err := b.Backing.ReadAt(p, off)
	b.c.bytes.Add(int64(n))
	b.c.reads.Add(1)
	return n, err
}

func (b *countingBacking) WriteAt(p []byte, off int64) (int, error) {
	b.c.t.Errorf("inspection wrote %d bytes at %d in %s", len(p), off, b.Name())
	return 0, os.ErrPermission
}

func (b *countingBacking) Truncate(int64) error {
	b.c.t.Errorf("inspection truncated %s", b.Name())
	return os.ErrPermission
}

// hashTree hashes every regular file under dir (name, size, mtime, content)
// so a test can prove nothing changed.
func hashTree(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || !fi.Mode().IsRegular() {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		sum, err := hashSparse(f, fi.Size())
		if err != nil {
			return err
		}
		out[p] = fi.ModTime().String() + " " + sum
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// hashSparse hashes the non-zero 4 KiB blocks of a file with their offsets,
// visiting only its data extents (SEEK_DATA/SEEK_HOLE), so 64 GiB sparse
// fixtures hash in milliseconds and the result does not depend on how the
// filesystem happens to lay out extents (which changes after writeback).
func hashSparse(f *os.File, size int64) (string, error) {
	const seekData, seekHole, blk = 3, 4, 4096
	h := sha256.New()
	buf := make([]byte, blk)
	zero := make([]byte, blk)
	for off := int64(0); off < size; {
		start, err := f.Seek(off, seekData)
		if err != nil {
			break // ENXIO: no data after off
		}
		end, err := f.Seek(start, seekHole)
		if err != nil {
			return "", err
		}
		for b := start &^ (blk - 1); b < end; b += blk {
			n, err := f.ReadAt(buf, b)
			if err != nil && err != io.EOF {
				return "", err
			}
			if !bytes.Equal(buf[:n], zero[:n]) {
				fmt.Fprintf(h, "@%d:", b)
				h.Write(buf[:n])
			}
		}
		off = end
	}
	return fmt.Sprintf("%x", h.Sum(nil)), nil
}

func sameTree(t *testing.T, before, after map[string]string) {
	t.Helper()
	if len(before) != len(after) {
		t.Errorf("files before %d, after %d", len(before), len(after))
	}
	for p, h := range before {
		if after[p] != h {
			t.Errorf("%s changed during inspection", p)
		}
	}
}

func run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	return string(out)
}
