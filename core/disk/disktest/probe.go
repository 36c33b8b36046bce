package disktest

import (
	"os"
	"testing"

	"github.com/pvinject/pvinject/core/disk"
)

// ProbeFixtures checks that f.Probe recognises every small shared fixture
// of its own format and no other, from the first 64 KiB and the size.
func ProbeFixtures(t *testing.T, f disk.Format) {
	t.Helper()
	for _, e := range Entries(t, "", Small) {
		h, err := os.Open(e.Path())
		if err != nil {
			t.Fatal(err)
		}
		head := make([]byte, 64<<10)
		n, _ := h.ReadAt(head, 0)
		st, _ := h.Stat()
		h.Close()
		if got := f.Probe(head[:n], st.Size()); got != (e.Format == f.Name) {
			t.Errorf("%s Probe(%s) = %v", f.Name, e.File, got)
		}
	}
}
