package vhd_test

import (
	"bytes"
	"math/rand/v2"
	"os"
	"sync"
	"testing"

	"github.com/pvinject/pvinject/core/disk"
	"github.com/pvinject/pvinject/core/disk/disktest"
	"github.com/pvinject/pvinject/core/disk/vhd"
)

// ReadAt must be safe for concurrent use (run with -race): four readers
// over a differencing disk, whose sector bitmaps are cached on first use.
func TestConcurrentReads(t *testing.T) {
	e := entry(t, "child.vhd")
	want, err := os.ReadFile(e.ExpectPath())
	if err != nil {
		t.Fatal(err)
	}
	img := disktest.Open(t, vhd.Format, e.Path(), disk.Options{})
	var wg sync.WaitGroup
	errs := make(chan string, 4)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 9))
			buf := make([]byte, 64<<10)
			for range 300 {
				n := 1 + rng.IntN(len(buf))
				off := rng.Int64N(img.Size() - int64(n))
				if _, err := img.ReadAt(buf[:n], off); err != nil {
					errs <- err.Error()
					return
				}
				if !bytes.Equal(buf[:n], want[off:off+int64(n)]) {
					errs <- "wrong bytes"
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
}
