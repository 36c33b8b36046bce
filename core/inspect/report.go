package inspect

import (
	"github.com/pvinject/pvinject/core/bootcheck"
	"github.com/pvinject/pvinject/core/guest"
	"github.com/pvinject/pvinject/core/matrix"
	"github.com/pvinject/pvinject/core/netid"
	"github.com/pvinject/pvinject/core/partition"
	"github.com/pvinject/pvinject/core/safety"
)

// Report is everything `pvinject inspect` shows. Its JSON field names are the
// contract of `pvinject inspect --json`.
type Report struct {
	Image      ImageReport           `json:"image"`
	Partitions []partition.Partition `json:"partitions"`
	// Windows is the chosen install (Installs[Selected]); nil when none was found.
	Windows *Install `json:"windows"`
	// Installs lists every Windows installation found, partition by partition.
	Installs []Install `json:"installs"`
	// Selected indexes Installs; -1 when there is none.
	Selected int `json:"selected"`
	// Safety merges the findings of every layer for the chosen install.
	Safety Safety `json:"safety"`
	// Matrix holds every driver set's verdict for the chosen install; empty
	// when no Windows was found.
	Matrix []matrix.Verdict `json:"matrix"`
	// BootReadiness is the boot-readiness check's verdict per disk bus
	// (core/bootcheck); Network its verdict per paravirtual NIC type, and
	// the guest's adapters with their TCP/IP settings (network.go).
	BootReadiness []bootcheck.Verdict `json:"boot_readiness"`
	BootCheck     *BootCheck          `json:"boot_check,omitempty"`
	Network       Network             `json:"network"`
	nets          [][]netid.Adapter   // per install, as Installs
}

// ImageReport describes the container and its differencing chain.
type ImageReport struct {
	Path        string `json:"path"`
	Format      string `json:"format"`    // qemu-img's name: raw, vpc, vhdx, vmdk, qcow2
	Subformat   string `json:"subformat"` // e.g. dynamic, monolithicSparse, v3
	VirtualSize int64  `json:"virtual_size"`
	// ReadOnlyFormat: the format cannot be written in place by pvinject
	// (write the result to a new image instead).
	ReadOnlyFormat bool `json:"read_only_format"`
	// Chain lists every layer, this image first and the base last.
	Chain []Layer `json:"chain"`
	// Children lists files in the image's folder that use it as their parent.
	Children []string `json:"children"`
	// PartitionScheme is mbr, gpt, none (one filesystem, no table) or ""
	// when no table or filesystem was recognised.
	PartitionScheme string `json:"partition_scheme"`
	SectorSize      int64  `json:"sector_size"`
	DiskID          string `json:"disk_id,omitempty"`
}

// Layer is one image of a differencing chain.
type Layer struct {
	Path        string `json:"path"`
	Format      string `json:"format"`
	Subformat   string `json:"subformat"`
	VirtualSize int64  `json:"virtual_size"`
	Parent      string `json:"parent,omitempty"` // the parent reference as stored in this layer
}

// Install is one Windows installation and the partition holding it.
type Install struct {
	Partition int `json:"partition"` // partition.Partition.Index
	guest.Windows
}

// Safety is the merged list of findings. Blockers stop a write; warnings do
// not. Both arrays are never null.
type Safety struct {
	Blockers []safety.Finding `json:"blockers"`
	Warnings []safety.Finding `json:"warnings"`
}

func (s *Safety) add(fs ...safety.Finding) {
	for _, f := range fs {
		list := &s.Warnings
		if f.Severity == safety.Blocker {
			list = &s.Blockers
		}
		dup := false
		for _, g := range *list {
			if g.Code == f.Code && g.Message == f.Message {
				dup = true
				break
			}
		}
		if !dup {
			*list = append(*list, f)
		}
	}
}

// All returns the blockers, then the warnings.
func (s Safety) All() []safety.Finding {
	return append(append([]safety.Finding{}, s.Blockers...), s.Warnings...)
}

// Blocked reports whether anything stops a write.
func (r *Report) Blocked() bool { return len(r.Safety.Blockers) > 0 }

// normalize makes every array in the report non-nil, so the JSON never
// carries null where a list is expected.
func (r *Report) normalize() {
	r.Partitions = nonNil(r.Partitions)
	r.Installs = nonNil(r.Installs)
	r.Matrix = nonNil(r.Matrix)
	r.Image.Chain = nonNil(r.Image.Chain)
	r.Image.Children = nonNil(r.Image.Children)
	r.Safety.Blockers = nonNil(r.Safety.Blockers)
	r.Safety.Warnings = nonNil(r.Safety.Warnings)
	r.BootReadiness = nonNil(r.BootReadiness)
	r.Network.NICs = nonNil(r.Network.NICs)
	for i := range r.Installs {
		normalizeWindows(&r.Installs[i].Windows)
	}
	for i := range r.Matrix {
		r.Matrix[i].Reasons = nonNil(r.Matrix[i].Reasons)
	}
	r.selectNetwork()
	if r.Selected >= 0 && r.Selected < len(r.Installs) {
		w := r.Installs[r.Selected]
		r.Windows = &w
	} else {
		r.Windows = nil
		r.Selected = -1
	}
}

func normalizeWindows(w *guest.Windows) {
	w.PVDrivers = nonNil(w.PVDrivers)
	w.PVProducts = nonNil(w.PVProducts)
	w.DeviceInstallRestrictions = nonNil(w.DeviceInstallRestrictions)
	w.PendingReboot = nonNil(w.PendingReboot)
	w.StartOverrides = nonNil(w.StartOverrides)
	w.ControlSets.Present = nonNil(w.ControlSets.Present)
	w.Safety.Blockers = nonNil(w.Safety.Blockers)
	w.Safety.Warnings = nonNil(w.Safety.Warnings)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
