package journal

import (
	"bytes"
	"path/filepath"
	"testing"
	"time"
)

func FuzzReadJournal(f *testing.F) {
	dir := f.TempDir()
	seed := writeJournal(f, filepath.Join(dir, "seed"), []record{
		{kind: kindFile, id: 1, size: 4096, path: "/a/disk.img"},
		{kind: kindData, id: 1, off: 512, data: []byte("old")},
		{kind: kindCreate, id: 2, path: "/a/new"},
		{kind: kindSeal, seal: []sealFile{{id: 1, size: 4096, chunks: []chunk{{off: 512, n: 3}}}, {id: 2}}},
	})
	f.Add(seed)
	f.Fuzz(func(t *testing.T, b []byte) {
		j, err := parseJournal(bytes.NewReader(b), int64(len(b)), time.Time{}, "fuzz")
		if err != nil {
			return
		}
		for _, e := range j.entries {
			if e.off < 0 || e.size < 0 || e.dataN < 0 {
				t.Fatalf("negative offset or size in %+v", e)
			}
		}
	})
}
