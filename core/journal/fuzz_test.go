package journal

import "testing"

func FuzzParseJournal(f *testing.F) {
	j := []byte(magic)
	j = append(j, record{kind: kindFile, id: 1, size: 4096, path: "/a/disk.img"}.marshal()...)
	j = append(j, record{kind: kindData, id: 1, off: 512, data: []byte("old")}.marshal()...)
	j = append(j, record{kind: kindCreate, id: 2, path: "/a/new"}.marshal()...)
	f.Add(j)
	f.Fuzz(func(t *testing.T, b []byte) {
		rs, err := parseJournal(b)
		if err != nil {
			return
		}
		for _, r := range rs {
			if r.off < 0 || r.size < 0 {
				t.Fatalf("negative offset or size in %+v", r)
			}
		}
	})
}
