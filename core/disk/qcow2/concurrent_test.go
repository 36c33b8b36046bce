package qcow2_test

import (
	"bytes"
	"math/rand/v2"
	"os"
	"sync"
	"testing"

	"github.com/pvinject/pvinject/core/disk"
	"github.com/pvinject/pvinject/core/disk/disktest"
	"github.com/pvinject/pvinject/core/disk/qcow2"
)

// TestConcurrentReads runs ReadAt from several goroutines on shared caches
// (L2 tables, decompressed clusters); run with -race.
func TestConcurrentReads(t *testing.T) {
	for _, name := range []string{"compressed.qcow2", "clusters4k.qcow2", "top-qcow2.qcow2"} {
		var e disktest.Entry
		for _, x := range disktest.Entries(t, "qcow2", nil) {
			if x.File == name {
				e = x
			}
		}
		img := disktest.Open(t, qcow2.Format, e.Path(), disk.Options{})
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
