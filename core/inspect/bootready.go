package inspect

import (
	"fmt"
	"io"

	"github.com/pvinject/pvinject/core/bootcheck"
	"github.com/pvinject/pvinject/core/disk"
	"github.com/pvinject/pvinject/core/safety"
)

// CodeBootCheck marks a boot-readiness check that could not run.
const CodeBootCheck = "inspect.boot_check"

// BootCheck is the context of the boot-readiness verdicts: which control
// set and driver database Windows will use and whether test signing is on.
type BootCheck struct {
	ControlSet  string   `json:"control_set"`
	Database    string   `json:"database"`
	TestSigning string   `json:"test_signing"`
	BCD         string   `json:"bcd,omitempty"`
	Problems    []string `json:"problems"`
}

// bootReadiness runs core/bootcheck on the chosen install; it re-reads the
// volume itself, sharing nothing with what Inspect found but the install's
// location and version.
func bootReadiness(im disk.Image, r *Report) {
	r.BootReadiness, r.Network.NICs = []bootcheck.Verdict{}, []bootcheck.NIC{}
	if r.Selected < 0 {
		return
	}
	in := r.Installs[r.Selected]
	res, err := bootcheck.CheckDisk(im, r.Partitions, in.Partition, in.Windows)
	if err != nil {
		r.Safety.add(safety.Finding{Severity: safety.Warning, Code: CodeBootCheck,
			Title:   "Whether Windows will boot could not be checked",
			Message: "The boot-readiness check could not read what it needs from the Windows volume.",
			Remedy:  "Check that the volume is not damaged (chkdsk in the running guest).",
			Details: err.Error()})
		return
	}
	r.BootReadiness, r.Network.NICs = res.Buses, res.NICs
	r.BootCheck = &BootCheck{ControlSet: res.ControlSet, Database: res.Database, TestSigning: res.TestSigning,
		BCD: res.BCD, Problems: res.Problems}
}

func writeBootReadiness(w io.Writer, r *Report) {
	if len(r.BootReadiness) == 0 {
		return
	}
	res := bootcheck.Result{Buses: r.BootReadiness, NICs: r.Network.NICs}
	fmt.Fprintln(w, "Boot readiness (what Windows will do at its next boot, per disk bus)")
	if r.BootCheck != nil {
		fmt.Fprintf(w, "  control set %s, drivers bound through the %s, test signing %s\n",
			r.BootCheck.ControlSet, r.BootCheck.Database, r.BootCheck.TestSigning)
	}
	fmt.Fprint(w, res.Text())
	fmt.Fprintln(w)
}
