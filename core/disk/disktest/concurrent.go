package disktest

import (
	"bytes"
	"math/rand/v2"
	"os"
	"sync"
	"testing"

	"github.com/pvinject/pvinject/core/disk"
)

// ConcurrentReads runs ReadAt from several goroutines on the MANIFEST
// entries of format f named in files, whose shared caches (tables,
// decompressed blocks) must stay consistent; run with -race.
func ConcurrentReads(t *testing.T, f disk.Format, files ...string) {
	t.Helper()
	for _, name := range files {
		var e Entry
		for _, x := range Entries(t, f.Name, nil) {
			if x.File == name {
				e = x
			}
		}
		img := Open(t, f, e.Path(), disk.Options{})
		want, err := os.ReadFile(e.ExpectPath())
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan string, 8)
		for g := 0; g < 4; g++ {
			wg.Add(1)
			go func(seed uint64) {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(seed, 1))
				buf := make([]byte, 70000)
				for i := 0; i < 200; i++ {
					n := 1 + rng.IntN(len(buf))
					off := rng.Int64N(int64(len(want) - n))
					if _, err := img.ReadAt(buf[:n], off); err != nil || !bytes.Equal(buf[:n], want[off:off+int64(n)]) {
						errs <- name
						return
					}
				}
			}(uint64(g))
		}
		wg.Wait()
		close(errs)
		for n := range errs {
			t.Fatalf("%s: concurrent reads returned wrong bytes or an error", n)
		}
	}
}

// ConcurrentEntryReads has four goroutines read e (opened with f) at random
// unaligned offsets, 300 reads each, for images whose per-block metadata
// (sector bitmaps) is cached on first use; run with -race.
func ConcurrentEntryReads(t *testing.T, f disk.Format, e Entry) {
	t.Helper()
	want, err := os.ReadFile(e.ExpectPath())
	if err != nil {
		t.Fatal(err)
	}
	img := Open(t, f, e.Path(), disk.Options{})
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
