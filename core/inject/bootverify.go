package inject

import (
	"context"
	"fmt"
	"strings"

	"github.com/pvinject/pvinject/core/bootcheck"
)

// BootResult is the boot-readiness check run on the written image: an
// independent re-read (core/bootcheck shares no code with the planner) of
// whether Windows will boot on the bus the injected drivers serve.
type BootResult struct {
	Checked bool `json:"checked"`
	// OK is true when Windows boots on every target bus.
	OK bool `json:"ok"`
	// Targets are the buses the plan set up: the buses of its pre-seeded
	// storage services, else its driver family's usual bus.
	Targets []string `json:"targets"`
	// Summary says it in words, first thing in every report.
	Summary []string          `json:"summary"`
	Result  *bootcheck.Result `json:"result,omitempty"`
	Problem string            `json:"problem,omitempty"` // the check could not run
}

// serviceBus maps a storage service to the bus it drives (injection-facts
// §2.5, §3.3).
var serviceBus = map[string]string{
	"viostor": bootcheck.BusVirtioBlk, "vioscsi": bootcheck.BusVirtioSCSI,
	"xenvbd": bootcheck.BusXenVBD, "xenblk": bootcheck.BusXenVBD,
}

// targetBuses are the buses the plan means to boot from.
func targetBuses(p *Plan) []string {
	seen := map[string]bool{}
	var out []string
	for _, pk := range p.Packages {
		for _, s := range pk.Services {
			if b, ok := serviceBus[strings.ToLower(s)]; ok && !seen[b] {
				seen[b] = true
				out = append(out, b)
			}
		}
	}
	if len(out) == 0 {
		if p.DriverSet.Family == "xen" {
			return []string{bootcheck.BusXenVBD}
		}
		return []string{bootcheck.BusVirtioBlk}
	}
	return out
}

// CheckBoot runs the boot-readiness check on the image the plan wrote.
func CheckBoot(ctx context.Context, p *Plan) BootResult {
	br := BootResult{Targets: targetBuses(p)}
	res, err := bootcheck.CheckImage(ctx, p.Target)
	if err != nil {
		br.Problem = fmt.Sprintf("whether Windows will boot could not be checked: %v", err)
		br.Summary = []string{br.Problem}
		return br
	}
	br.Checked, br.Result, br.OK = true, res, true
	for _, bus := range br.Targets {
		v := res.Bus(bus)
		if v == nil {
			continue
		}
		if v.Boots {
			br.Summary = append(br.Summary, fmt.Sprintf("Windows will boot with its disk on %s.", v.Label))
			continue
		}
		// A Xen HVM guest always also gets an emulated IDE disk (its PV
		// drivers unplug it once they run: injection-facts §3.3), so a
		// Xen plan whose PV path is not pre-seeded still boots on IDE.
		if ide := res.Bus(bootcheck.BusIDE); bus == bootcheck.BusXenVBD && ide != nil && ide.Boots {
			br.Summary = append(br.Summary, fmt.Sprintf("Windows will not boot from %s alone (%s), but Xen also offers the disk as emulated IDE, on which Windows boots; the Xen PV drivers take over after their first-boot installation.",
				v.Label, strings.Join(v.Reasons, "; ")))
			continue
		}
		br.OK = false
		br.Summary = append(br.Summary, fmt.Sprintf("Windows will NOT boot with its disk on %s: %s.", v.Label, strings.Join(v.Reasons, "; ")))
		if v.Remedy != "" {
			br.Summary = append(br.Summary, "What to do: "+v.Remedy+".")
		}
	}
	for _, n := range res.NICs {
		if n.Device == "virtio-net" && p.DriverSet.Family != "xen" || n.Device == "xen-vif" && p.DriverSet.Family == "xen" {
			br.Summary = append(br.Summary, "Network: "+n.Message+".")
		}
	}
	return br
}

// Boots reports whether the check ran and says every target bus boots.
func (b BootResult) Boots() bool { return b.Checked && b.OK }
