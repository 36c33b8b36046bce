package inject

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// FirstBootSteps says in words what the first-boot runner of p will do.
func FirstBootSteps(p *Plan) []string { return firstBootSteps(p) }

// WritePlanText renders p for people, as `pvinject inject --dry-run` prints
// it: what was found, the packages and why, then every file and every
// registry value with its old and new value.
func WritePlanText(w io.Writer, p *Plan) error {
	ew := &errWriter{w: w}
	g := p.Guest
	ew.printf("Plan for %s (nothing has been written)\n\n", p.Request.Image)
	target := p.Target + " (in place, journaled)"
	if !p.Request.InPlace {
		target = fmt.Sprintf("%s (new %s image; the source is not touched)", p.Target, p.TargetFormat)
	}
	ew.printf("Target:      %s\n", target)
	ew.printf("Guest:       %s, %s, build %d, %s on partition %d\n", g.ProductName, g.Arch, g.Build, g.SystemRoot, p.Partition.Index)
	ew.printf("Driver set:  %s (%s) from %s\n", p.DriverSet.Kind, p.DriverSet.MatrixID, p.DriverSet.Path)
	if p.Verdict != nil {
		ew.printf("Verdict:     %s\n", p.Verdict.Verdict)
	}
	// The command line's own words: its remedy names the flags.
	for _, f := range p.Blockers {
		ew.printf("BLOCKER:     %s", f.Message)
		if r := f.Refusal("").Remedy; r != "" {
			ew.printf(" -> %s", r)
		}
		ew.printf("\n")
	}
	for _, f := range p.Warnings {
		ew.printf("Warning:     %s\n", f.Message)
	}
	for _, c := range p.Consents() {
		ew.printf("Accepted:    %s\n", c)
	}

	ew.printf("\nPackages (%d):\n", len(p.Packages))
	for _, pk := range p.Packages {
		kind := "staged, installed at first boot"
		if pk.BootCritical {
			kind = "boot-critical, installed offline"
		}
		ew.printf("  %-10s %-12s %s; %s\n", pk.Name, pk.DriverVer, kind, pk.Reason)
	}
	for _, u := range p.UnusedSummary() {
		ew.printf("  not used, %s\n", u)
	}

	ew.printf("\nFiles (%d):\n", len(p.Files))
	tw := tabwriter.NewWriter(ew, 0, 4, 2, ' ', 0)
	for _, f := range p.Files {
		action := "create"
		if f.Existed {
			action = "replace"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%d bytes\t%s\n", action, f.Path, f.Size, f.Reason)
	}
	tw.Flush()

	ew.printf("\nRegistry (%d changes):\n", len(p.Registry))
	for _, r := range p.Registry {
		ew.printf("  %s\n", r.String())
		if r.Reason != "" {
			ew.printf("      why: %s\n", r.Reason)
		}
	}

	if steps := firstBootSteps(p); len(steps) > 0 {
		ew.printf("\nAt first boot:\n")
		for _, s := range steps {
			ew.printf("  - %s\n", s)
		}
	}
	if len(p.HostAdvice) > 0 {
		ew.printf("\nOn the host:\n")
		for _, s := range p.HostAdvice {
			ew.printf("  - %s\n", strings.TrimSpace(s))
		}
	}
	return ew.err
}

// errWriter keeps the first write error so rendering code stays linear.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(b []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(b)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, args ...any) { fmt.Fprintf(e, format, args...) }
