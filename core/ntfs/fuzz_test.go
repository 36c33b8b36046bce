package ntfs

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func seed(f *testing.F, name string) []byte {
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		f.Fatal(err)
	}
	return b
}

// FuzzRecord: any bytes either fail to parse or parse into a record that
// re-marshals and parses again to the same attributes.
func FuzzRecord(f *testing.F) {
	for _, n := range []string{"record-mft.bin", "record-root.bin", "record-dir.bin", "record-file.bin"} {
		f.Add(seed(f, n))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := parseRecord(b, 42, 1<<20, 0)
		if err != nil {
			return
		}
		for _, a := range r.Attrs {
			a.dirty = true
		}
		out, err := r.marshal()
		if err != nil {
			return // attributes re-encoded larger than before (e.g. padding)
		}
		r2, err := parseRecord(out, 42, 1<<20, 0)
		if err != nil {
			t.Fatalf("re-marshalled record does not parse: %v", err)
		}
		if len(r2.Attrs) != len(r.Attrs) {
			t.Fatalf("attributes %d -> %d", len(r.Attrs), len(r2.Attrs))
		}
		for i := range r.Attrs {
			a, b := r.Attrs[i], r2.Attrs[i]
			if a.Type != b.Type || a.NonRes != b.NonRes || !bytes.Equal(a.Value, b.Value) || runsClusters(a.Runs) != runsClusters(b.Runs) {
				t.Fatalf("attribute %d changed in round trip", i)
			}
		}
	})
}

// FuzzAttribute parses single attribute records.
func FuzzAttribute(f *testing.F) {
	rec := seed(f, "record-file.bin")
	f.Add(rec[0x38:])
	f.Add(seed(f, "record-dir.bin")[0x38:])
	f.Fuzz(func(t *testing.T, b []byte) {
		a, n, err := parseAttr(b, 1<<20)
		if err != nil || a == nil {
			return
		}
		if n > len(b) {
			t.Fatalf("length %d beyond %d bytes", n, len(b))
		}
		a.dirty = true
		a2, _, err := parseAttr(a.marshal(), 1<<20)
		if err != nil || a2 == nil {
			t.Fatalf("re-encoded attribute does not parse: %v", err)
		}
		if a2.Type != a.Type || !bytes.Equal(a2.Value, a.Value) || len(a2.Runs) > len(a.Runs) {
			t.Fatal("attribute changed in round trip")
		}
	})
}

// FuzzRunlist: decoded runlists re-encode to mapping pairs that decode to
// the same extents.
func FuzzRunlist(f *testing.F) {
	f.Add([]byte{0x21, 0x18, 0x34, 0x56, 0x00})
	f.Add([]byte{0x31, 0x01, 0x00, 0x00, 0x01, 0x11, 0x30, 0x60, 0x01, 0x10, 0x00})
	f.Add(encodeRuns([]run{{LCN: 100, Length: 5}, {LCN: sparseLCN, Length: 7}, {LCN: 3, Length: 1 << 20}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		runs, err := decodeRuns(b, 0)
		if err != nil {
			return
		}
		again, err := decodeRuns(encodeRuns(runs), 0)
		if err != nil {
			t.Fatalf("re-encoded runlist does not decode: %v", err)
		}
		if len(again) != len(runs) {
			t.Fatalf("%d runs -> %d", len(runs), len(again))
		}
		for i := range runs {
			if runs[i] != again[i] {
				t.Fatalf("run %d: %+v -> %+v", i, runs[i], again[i])
			}
		}
	})
}

// FuzzIndex parses index blocks and roots, and also attribute lists, boot
// sectors and $LogFile restart pages.
func FuzzIndex(f *testing.F) {
	f.Add(seed(f, "indx.bin"))
	rec, err := parseRecord(seed(f, "record-dir.bin"), 0, 0, 0)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(rec.find(atIndexRoot, i30).Value)
	f.Fuzz(func(t *testing.T, b []byte) {
		if ib, err := parseIndexBlock(b, "fuzz", 0); err == nil {
			out, err := ib.marshal()
			if err == nil {
				if _, err := parseIndexBlock(out, "fuzz", 0); err != nil {
					t.Fatalf("re-marshalled block does not parse: %v", err)
				}
			}
			for _, e := range ib.Entries {
				if !e.last() {
					_, _ = parseFileName(e.Key)
				}
			}
		}
		if ir, err := parseIndexRoot(b); err == nil {
			if _, err := parseIndexRoot(ir.marshal()); err != nil {
				t.Fatalf("re-marshalled root does not parse: %v", err)
			}
		}
		_, _ = parseAttrList(b)
		_, _ = parseBoot(b, 1<<40)
		_, _, _ = parseRestartPage(b, 0)
	})
}
