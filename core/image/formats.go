package image

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/pvinject/pvinject/core/disk"
	"github.com/pvinject/pvinject/core/disk/qcow2"
	"github.com/pvinject/pvinject/core/disk/raw"
	"github.com/pvinject/pvinject/core/disk/vhd"
	"github.com/pvinject/pvinject/core/disk/vhdx"
	"github.com/pvinject/pvinject/core/disk/vmdk"
)

// probeOrder lists the formats in the order their probes run: vhdx, vpc,
// qcow2, vmdk, then raw, which accepts anything and must stay last.
var probeOrder = []disk.Format{
	vhdx.Format,
	vhd.Format,
	qcow2.Format,
	vmdk.Format,
	raw.Format,
}

// Formats returns the supported formats in probe order.
func Formats() []disk.Format { return append([]disk.Format(nil), probeOrder...) }

// FormatByName returns the format called name (qemu-img's names: raw, vpc,
// vhdx, vmdk, qcow2; "vhd" is accepted for vpc and "img" for raw).
func FormatByName(name string) (disk.Format, error) {
	n := strings.ToLower(name)
	switch n {
	case "vhd":
		n = "vpc"
	case "img":
		n = "raw"
	}
	for _, f := range probeOrder {
		if f.Name == n {
			return f, nil
		}
	}
	return disk.Format{}, fmt.Errorf("image: unknown or unsupported format %q (supported: %s)", name, strings.Join(names(), ", "))
}

// FormatForPath picks the output format from a file name's extension:
// .img/.raw -> raw, .vhd -> vpc, .vhdx -> vhdx, .vmdk -> vmdk, .qcow2 -> qcow2.
func FormatForPath(path string) (disk.Format, error) {
	ext := strings.ToLower(strings.TrimPrefix(filepath.Ext(path), "."))
	switch ext {
	case "img", "raw":
		return FormatByName("raw")
	case "vhd", "vhdx", "vmdk", "qcow2":
		return FormatByName(ext)
	}
	return disk.Format{}, fmt.Errorf("image: cannot tell the format of %s from its extension %q; name it explicitly (%s)", path, ext, strings.Join(names(), ", "))
}

func names() []string {
	var s []string
	for _, f := range probeOrder {
		s = append(s, f.Name)
	}
	return s
}

// probe returns the first format whose probe accepts head. A fixed VHD is
// raw data followed by a footer: only the file's last 512 bytes (tail) tell it
// apart from raw.
func probe(head, tail []byte, size int64) disk.Format {
	for _, f := range probeOrder {
		if f.Name == raw.Format.Name && vhd.ProbeFooter(tail) {
			return vhd.Format
		}
		if f.Probe(head, size) {
			return f
		}
	}
	return raw.Format
}
