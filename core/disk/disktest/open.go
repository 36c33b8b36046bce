package disktest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/pvinject/pvinject/core/disk"
)

// maxChain bounds parent chains opened by ParentOpener.
const maxChain = 16

// Opened is an image opened by Open together with what it took to open it.
type Opened struct {
	disk.Image
	mu       sync.Mutex
	backings []disk.Backing
	parents  []disk.Image
	closed   bool
}

// Close closes the image, its parents and every host file Open opened.
// Calling it twice is harmless.
func (o *Opened) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return nil
	}
	o.closed = true
	err := o.Image.Close()
	for i := len(o.parents) - 1; i >= 0; i-- {
		o.parents[i].Close() //nolint:errcheck // parents are read-only
	}
	for _, b := range o.backings {
		if cerr := b.Close(); cerr != nil && !errors.Is(cerr, os.ErrClosed) && err == nil {
			err = cerr
		}
	}
	return err
}

// OpenImage opens path with format f without a *testing.T (for benchmarks and
// helpers). Parents are opened with the same format, read-only, resolved
// relative to the child's folder. opts.Opener is used for every host file.
func OpenImage(f disk.Format, path string, opts disk.Options) (*Opened, error) {
	o := &Opened{}
	img, err := o.open(f, path, opts, 0)
	if err != nil {
		o.Image = nopImage{}
		o.Close()
		return nil, err
	}
	o.Image = img
	return o, nil
}

func (o *Opened) open(f disk.Format, path string, opts disk.Options, depth int) (disk.Image, error) {
	b, err := opts.FileOpener().Open(path, opts.Writable)
	if err != nil {
		return nil, fmt.Errorf("disktest: open %s: %w", path, err)
	}
	o.mu.Lock()
	o.backings = append(o.backings, b)
	o.mu.Unlock()
	if opts.OpenParent == nil {
		popts := opts
		popts.Writable = false
		opts.OpenParent = func(ref, child string) (disk.Image, error) {
			if depth+1 >= maxChain {
				return nil, fmt.Errorf("disktest: %s: backing chain deeper than %d", child, maxChain)
			}
			p := ResolveParent(ref, child)
			popts.OpenParent = nil
			img, err := o.open(f, p, popts, depth+1)
			if err != nil {
				return nil, err
			}
			o.mu.Lock()
			o.parents = append(o.parents, img)
			o.mu.Unlock()
			return img, nil
		}
	}
	img, err := f.Open(path, b, opts)
	if err != nil {
		return nil, fmt.Errorf("disktest: %s open %s: %w", f.Name, path, err)
	}
	return img, nil
}

// ResolveParent turns a parent reference into a host path: relative
// references are relative to the child's folder; Windows paths are reduced to
// their base name in the child's folder when they do not exist as given.
func ResolveParent(ref, child string) string {
	if filepath.IsAbs(ref) {
		if _, err := os.Stat(ref); err == nil {
			return ref
		}
	}
	r := strings.ReplaceAll(ref, `\`, "/")
	if len(r) >= 2 && r[1] == ':' { // drive letter: only the name can be meaningful here
		r = r[strings.LastIndex(r, "/")+1:]
	}
	if filepath.IsAbs(r) {
		return r
	}
	return filepath.Join(filepath.Dir(child), filepath.FromSlash(r))
}

// Open opens path with f for the test and closes it at cleanup.
func Open(t testing.TB, f disk.Format, path string, opts disk.Options) *Opened {
	t.Helper()
	o, err := OpenImage(f, path, opts)
	if err != nil {
		t.Fatalf("%v", err)
	}
	t.Cleanup(func() { o.Close() })
	return o
}

type nopImage struct{}

func (nopImage) ReadAt(p []byte, off int64) (int, error)  { return 0, disk.ErrOutOfRange }
func (nopImage) WriteAt(p []byte, off int64) (int, error) { return 0, disk.ErrReadOnly }
func (nopImage) Size() int64                              { return 0 }
func (nopImage) Flush() error                             { return nil }
func (nopImage) Close() error                             { return nil }
