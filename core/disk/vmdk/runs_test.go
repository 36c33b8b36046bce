package vmdk_test

import (
	"bytes"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/pvinject/pvinject/core/disk"
	"github.com/pvinject/pvinject/core/disk/disktest"
	"github.com/pvinject/pvinject/core/disk/vmdk"
	"github.com/pvinject/pvinject/core/internal/testenv"
)

// TestWholeRunWrites exercises the batched path for writes of many whole
// grains (the shape of image.Convert's 2 MiB chunks): runs that cross a
// grain table boundary (32 << 20 bytes), that hold an all-zero grain (which
// must stay sparse) and an already allocated one (written in place), and
// that end in a partial grain. qemu-img must find the result identical to
// the same writes on a raw file, and clean.
func TestWholeRunWrites(t *testing.T) {
	testenv.RequireTool(t, "qemu-img")
	const unit, span = 64 << 10, 32 << 20
	dir := t.TempDir()
	imgPath, rawPath := disktest.Created(vmdk.Format, "", 2*span).Setup(t, dir)
	rng := rand.New(rand.NewPCG(5, 6))
	data := func(n int64) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32() | 1)
		}
		return b
	}
	run := data(12 * unit)
	clear(run[5*unit : 6*unit]) // a whole zero grain inside the run
	writes := []disktest.Write{
		{Off: span - 2*unit + 100, Data: data(300)},      // allocates one grain the run covers
		{Off: span - 4*unit, Data: run},                  // crosses the table boundary
		{Off: span + 20*unit, Data: data(3*unit + 777)},  // ends in a partial grain
		{Off: 2*span - 3*unit, Data: data(3 * unit)},     // the last grains of the disk
		{Off: span - 4*unit, Data: make([]byte, 2*unit)}, // zeros over the run's data
	}
	img, err := disktest.OpenImage(vmdk.Format, imgPath, disk.Options{Writable: true})
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
	disktest.QemuIdentical(t, "vmdk", imgPath, rawPath)
	disktest.QemuCheck(t, "vmdk", imgPath)
	if _, alloc := disktest.Usage(t, imgPath); alloc > 2*span/4 {
		t.Errorf("%s allocates %d bytes for about 20 grains of data: the holes were not kept", imgPath, alloc)
	}
}
