package image

import (
	"bytes"
	"fmt"
	"os"
	"testing"

	"github.com/pvinject/pvinject/core/disk"
)

// chainFormat is a minimal differencing format for testing the chain logic
// without depending on a real container: a 512-byte header "PVTESTCHAIN
// <parent>\n", then the guest bytes. It opens its parent at Open, as the real
// formats do, and closes it on Close.
var chainFormat = disk.Format{
	Name:  "testchain",
	Probe: func(head []byte, size int64) bool { return bytes.HasPrefix(head, []byte("PVTESTCHAIN ")) },
	Open: func(path string, b disk.Backing, opts disk.Options) (disk.Image, error) {
		hdr := make([]byte, 512)
		if _, err := b.ReadAt(hdr, 0); err != nil {
			return nil, err
		}
		line, _, _ := bytes.Cut(hdr[len("PVTESTCHAIN "):], []byte("\n"))
		c := &chainImage{b: b, ref: string(line)}
		size, _ := b.Size()
		c.size = size - 512
		if c.ref != "" {
			p, err := opts.OpenParent(c.ref, path)
			if err != nil {
				return nil, err
			}
			c.parent = p
		}
		return c, nil
	},
}

type chainImage struct {
	b      disk.Backing
	ref    string
	size   int64
	parent disk.Image
}

func (c *chainImage) ReadAt(p []byte, off int64) (int, error) { return c.b.ReadAt(p, off+512) }
func (c *chainImage) WriteAt(p []byte, off int64) (int, error) {
	return c.b.WriteAt(p, off+512)
}
func (c *chainImage) Size() int64  { return c.size }
func (c *chainImage) Flush() error { return nil }
func (c *chainImage) Close() error {
	if c.parent != nil {
		return c.parent.Close()
	}
	return nil
}
func (c *chainImage) Info() disk.Info {
	return disk.Info{Format: "testchain", VirtualSize: c.size, Parent: c.ref}
}

// withChainFormat puts the test format in front of the probe order.
func withChainFormat(t *testing.T) {
	old := probeOrder
	probeOrder = append([]disk.Format{chainFormat}, probeOrder...)
	t.Cleanup(func() { probeOrder = old })
}

func writeChain(t *testing.T, path, parent string, fill byte) {
	t.Helper()
	hdr := make([]byte, 512)
	copy(hdr, fmt.Sprintf("PVTESTCHAIN %s\n", parent))
	data := bytes.Repeat([]byte{fill}, 4096)
	if err := os.WriteFile(path, append(hdr, data...), 0o644); err != nil {
		t.Fatal(err)
	}
}
