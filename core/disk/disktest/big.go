package disktest

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/pvinject/pvinject/core/disk"
)

// ReadBig compares the 4.5 GiB fixtures of format f with their raw file:
// in full normally, and under -race (about 10x slower per byte) only the
// regions scripts/fixtures/disk.sh wrote, the 2 GiB boundaries, the end,
// and a thousand random 64 KiB reads, to keep CI within budget.
func ReadBig(t *testing.T, f disk.Format) {
	t.Helper()
	for _, e := range Entries(t, f.Name, func(e Entry) bool { return strings.Contains(e.File, "big") }) {
		t.Run(e.File, func(t *testing.T) {
			img := Open(t, f, e.Path(), disk.Options{})
			if !raceEnabled {
				if err := CompareWithRaw(img, e.ExpectPath(), 1); err != nil {
					t.Fatalf("%s: %v", e.File, err)
				}
				return
			}
			if err := sampleCompare(img, e.ExpectPath()); err != nil {
				t.Fatalf("%s: %v", e.File, err)
			}
		})
	}
}

func sampleCompare(img disk.Image, rawPath string) error {
	rf, err := os.Open(rawPath)
	if err != nil {
		return err
	}
	defer rf.Close()
	st, err := rf.Stat()
	if err != nil {
		return err
	}
	size := st.Size()
	if img.Size() != size {
		return fmt.Errorf("virtual size %d, want %d", img.Size(), size)
	}
	const mib = 1 << 20
	type span struct{ off, n int64 }
	spans := []span{{0, 3 * mib}, {2046 * mib, 4 * mib}, {4094 * mib, 4 * mib}, {4599 * mib, 2 * mib}, {size - mib, mib}}
	rng := rand.New(rand.NewPCG(11, 12))
	for i := 0; i < 1000; i++ {
		spans = append(spans, span{rng.Int64N(size - 65536), 65536})
	}
	for _, s := range spans {
		got, want := make([]byte, s.n), make([]byte, s.n)
		if _, err := rf.ReadAt(want, s.off); err != nil {
			return err
		}
		if _, err := img.ReadAt(got, s.off); err != nil {
			return fmt.Errorf("read %d at %d: %w", s.n, s.off, err)
		}
		if !bytes.Equal(got, want) {
			return fmt.Errorf("bytes differ in [%d, %d)", s.off, s.off+s.n)
		}
	}
	return nil
}
