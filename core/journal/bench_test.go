package journal

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkSeal: the cost of the commit point on a run that overwrote
// 12 MiB (about what an injection with a real-size SYSTEM hive writes):
// read back and hash every piece written, append the seal, mark the header.
func BenchmarkSeal(b *testing.B) {
	img := filepath.Join(b.TempDir(), "disk.img")
	buf := bytes.Repeat([]byte{2}, 12<<20)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		os.Remove(Path(img))
		if err := os.WriteFile(img, make([]byte, 64<<20), 0o644); err != nil {
			b.Fatal(err)
		}
		o, err := Begin(img, nil)
		if err != nil {
			b.Fatal(err)
		}
		f, _ := o.Open(img, true)
		if _, err := f.WriteAt(buf, 8<<20); err != nil {
			b.Fatal(err)
		}
		f.Close()
		b.StartTimer()
		if err := o.Seal(); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		o.Close()
	}
	b.SetBytes(int64(len(buf)))
}
