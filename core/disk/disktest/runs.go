package disktest

import (
	"bytes"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/pvinject/pvinject/core/disk"
	"github.com/pvinject/pvinject/core/internal/testenv"
)

// WholeRunWrites exercises the batched path for writes of many whole 64 KiB
// allocation units (clusters, grains; named by unitName in messages), the
// shape of image.Convert's 2 MiB chunks, on a created image of 2*span bytes
// where span is the reach of one table: runs that cross a table boundary,
// that hold an all-zero unit (which must stay sparse) and an already
// allocated one (written in place), and that end in a partial unit.
// qemu-img must find the result identical to the same writes on a raw file,
// and clean.
func WholeRunWrites(t *testing.T, f disk.Format, qemuFormat string, span int64, unitName string) {
	t.Helper()
	testenv.RequireTool(t, "qemu-img")
	const unit = 64 << 10
	dir := t.TempDir()
	imgPath, rawPath := Created(f, "", 2*span).Setup(t, dir)
	rng := rand.New(rand.NewPCG(5, 6))
	data := func(n int64) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32() | 1)
		}
		return b
	}
	run := data(12 * unit)
	clear(run[5*unit : 6*unit]) // a whole zero unit inside the run
	writes := []Write{
		{Off: span - 2*unit + 100, Data: data(300)},      // allocates one unit the run covers
		{Off: span - 4*unit, Data: run},                  // crosses the table boundary
		{Off: span + 20*unit, Data: data(3*unit + 777)},  // ends in a partial unit
		{Off: 2*span - 3*unit, Data: data(3 * unit)},     // the last units of the disk
		{Off: span - 4*unit, Data: make([]byte, 2*unit)}, // zeros over the run's data
	}
	img, err := OpenImage(f, imgPath, disk.Options{Writable: true})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.OpenFile(rawPath, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for i, w := range writes {
		if _, err := img.WriteAt(w.Data, w.Off); err != nil {
			t.Fatalf("write %d at %d: %v", i, w.Off, err)
		}
		if _, err := raw.WriteAt(w.Data, w.Off); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(w.Data))
		if _, err := img.ReadAt(got, w.Off); err != nil || !bytes.Equal(got, w.Data) {
			t.Fatalf("write %d at %d does not read back (err %v)", i, w.Off, err)
		}
	}
	m, ok := img.Image.(disk.Mapper)
	if !ok {
		t.Fatalf("%T is not a disk.Mapper", img.Image)
	}
	if ext, err := m.Map(span+unit, unit); err != nil || len(ext) != 1 || ext[0].Allocated {
		t.Errorf("the zero run at %d is mapped as %+v (err %v), want one hole", span+unit, ext, err)
	}
	if err := img.Close(); err != nil {
		t.Fatal(err)
	}
	QemuIdentical(t, qemuFormat, imgPath, rawPath)
	QemuCheck(t, qemuFormat, imgPath)
	if _, alloc := Usage(t, imgPath); alloc > 2*span/4 {
		t.Errorf("%s allocates %d bytes for about 20 %ss of data: the holes were not kept", imgPath, alloc, unitName)
	}
}
