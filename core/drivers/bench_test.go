package drivers_test

import (
	"path/filepath"
	"testing"

	"github.com/pvinject/pvinject/core/drivers"
	"github.com/pvinject/pvinject/core/drivers/inf"
	"github.com/pvinject/pvinject/core/internal/testenv"
)

// BenchmarkOpenSelect opens a fixture source (walk, parse every INF, read
// every .sys PE header and .cat) and selects for a Server 2022 guest.
func BenchmarkOpenSelect(b *testing.B) {
	dir := testenv.Fixture(b, "drivers")
	g := drivers.GuestInfo{Arch: inf.ArchAMD64, Major: 10, Build: 20348, Server: true}
	for _, rel := range []string{"virtio-tree", "virtio-win.iso"} {
		b.Run(rel, func(b *testing.B) {
			for b.Loop() {
				s, err := drivers.OpenSource(filepath.Join(dir, rel), inf.Options{})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := s.Select(g); err != nil {
					b.Fatal(err)
				}
				s.Close()
			}
		})
	}
}
