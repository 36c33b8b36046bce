package bootcheck

import (
	"context"
	"path/filepath"
	"testing"
)

// BenchmarkBootCheck64G checks a 64 GiB sparse raw disk holding the real
// 11 MiB Windows 10 SYSTEM hive with the peers' writes: the check reads the
// hive in place and a few driver files, never the whole disk.
func BenchmarkBootCheck64G(b *testing.B) {
	img := filepath.Join(fixture(b), "bench", "big.raw")
	for b.Loop() {
		r, err := CheckImage(context.Background(), img)
		if err != nil {
			b.Fatal(err)
		}
		if v := r.Bus(BusVirtioBlk); v == nil || !v.Boots {
			b.Fatalf("virtio-blk: %+v", v)
		}
	}
}
