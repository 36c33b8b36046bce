package ntfs

import (
	"errors"
	"os"
	"testing"

	"github.com/pvinject/pvinject/core/internal/testenv"
)

// failingDev lets the first n writes through, then fails every write, as
// if the process died there.
type failingDev struct {
	f      *os.File
	n      int
	writes int
}

var errInjected = errors.New("injected write failure")

func (d *failingDev) ReadAt(b []byte, off int64) (int, error) { return d.f.ReadAt(b, off) }

func (d *failingDev) WriteAt(b []byte, off int64) (int, error) {
	d.writes++
	if d.writes > d.n {
		return 0, errInjected
	}
	return d.f.WriteAt(b, off)
}

// TestCutOffWriter stops the writer after each of its writes in turn: the
// volume must then be either byte-identical to the original or marked
// dirty (so Windows runs chkdsk), and the writer must report the failure.
func TestCutOffWriter(t *testing.T) {
	src := copyFixture(t, "hibok")
	orig := testenv.FileSHA256(t, src)
	ops := func(v *Volume) error {
		if err := v.WriteFile("Windows/a.txt", fill(1, 20000)); err != nil {
			return err
		}
		if err := v.Mkdir("Windows/Dir"); err != nil {
			return err
		}
		if err := v.WriteFile("Windows/Dir/b.txt", []byte("b")); err != nil {
			return err
		}
		return v.Close()
	}
	total := -1
	for n := 0; ; n++ {
		img := src + ".cut"
		b, _ := os.ReadFile(src)
		if err := os.WriteFile(img, b, 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := os.OpenFile(img, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		st, _ := f.Stat()
		dev := &failingDev{f: f, n: n}
		v, err := Open(dev, st.Size(), Options{Writable: true})
		if err != nil {
			t.Fatal(err)
		}
		err = ops(v)
		f.Close()
		if err == nil {
			total = dev.writes
			break
		}
		if !errors.Is(err, errInjected) {
			t.Fatalf("cut after %d writes: error does not wrap the device failure: %v", n, err)
		}
		if testenv.FileSHA256(t, img) == orig {
			continue
		}
		ro, err := openRaw(t, img, false)
		if err != nil {
			t.Fatalf("cut after %d writes: read-only open fails: %v", n, err)
		}
		if !findingCodes(Check(ro))["ntfs.dirty"] {
			t.Fatalf("cut after %d writes: volume changed but not marked dirty", n)
		}
	}
	if total < 5 {
		t.Fatalf("only %d writes; the test did not exercise much", total)
	}
	t.Logf("cut after each of %d writes: always untouched or dirty", total)
}
