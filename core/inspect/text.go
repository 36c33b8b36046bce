package inspect

import (
	"github.com/pvinject/pvinject/internal/human"

	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/pvinject/pvinject/core/matrix"
	"github.com/pvinject/pvinject/core/safety"
)

// WriteText renders r for people: the image and its chain, the partitions,
// the chosen Windows (and the others), the findings with what to do about
// them, and every driver set's verdict with its reasons.
func WriteText(w io.Writer, r *Report) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	p := func(format string, args ...any) { fmt.Fprintf(tw, format, args...) }

	p("Image\n")
	p("  path:\t%s\n", r.Image.Path)
	p("  format:\t%s\n", joinNonEmpty(r.Image.Format, r.Image.Subformat))
	p("  virtual size:\t%s\n", HumanBytes(r.Image.VirtualSize))
	if len(r.Image.Chain) > 1 {
		for i, l := range r.Image.Chain {
			label := "parent"
			if i == 0 {
				label = "this image"
			}
			p("  chain %d:\t%s (%s, %s)\n", i, l.Path, joinNonEmpty(l.Format, l.Subformat), label)
		}
	}
	for _, c := range r.Image.Children {
		p("  child:\t%s (uses this image as its parent)\n", c)
	}
	if r.Image.PartitionScheme != "" {
		p("  partition table:\t%s\n", r.Image.PartitionScheme)
	}
	tw.Flush()

	fmt.Fprintf(w, "\nPartitions (%d)\n", len(r.Partitions))
	if len(r.Partitions) > 0 {
		fmt.Fprintln(tw, "  #\tstart\tsize\tfilesystem\ttype")
		for _, pt := range r.Partitions {
			typ := strings.TrimSpace(pt.Type + " " + pt.TypeName)
			if len(pt.Type) > 8 && pt.TypeName != "" {
				typ = pt.TypeName // a GPT type GUID says nothing to people; --json has it
			}
			p("  %d\t%d\t%s\t%s\t%s\n", pt.Index, pt.Start, HumanBytes(pt.Size), pt.Filesystem, typ)
		}
		tw.Flush()
	}

	fmt.Fprintln(w)
	if r.Windows == nil {
		fmt.Fprintln(w, "Windows: none found")
	} else {
		win := r.Windows
		fmt.Fprintf(w, "Windows [install %d] (%d found; this one on partition %d)\n", r.Selected, len(r.Installs), win.Partition)
		p("  product:\t%s\n", win.ProductName)
		p("  version:\t%d.%d build %d", win.Major, win.Minor, win.Build)
		if win.UBR > 0 {
			p(".%d", win.UBR)
		}
		p("\n")
		sp := "none"
		if win.ServicePack > 0 {
			sp = fmt.Sprint(win.ServicePack)
		}
		p("  service pack:\t%s\n", sp)
		p("  edition:\t%s\n", joinNonEmpty(win.Edition, paren(win.InstallationType)))
		p("  architecture:\t%s\n", orUnknown(string(win.Arch)))
		p("  system root:\t%s\n", win.SystemRoot)
		p("  control set:\t%s\n", orUnknown(win.ControlSet))
		for _, d := range win.PVDrivers {
			p("  PV driver:\t%s (%s) %s\n", d.Service, d.Family, d.Version)
		}
		tw.Flush()
		writeNetworkText(w, r.Network.Adapters)
		for i, other := range r.Installs {
			if i != r.Selected {
				fmt.Fprintf(w, "  also found [install %d]: %s (build %d) in %s on partition %d (choose it with --install %d)\n",
					i, other.ProductName, other.Build, other.SystemRoot, other.Partition, i)
			}
		}
	}

	fmt.Fprintln(w)
	writeBootReadiness(w, r)
	writeFindings(w, "Blockers", r.Safety.Blockers)
	writeFindings(w, "Warnings", r.Safety.Warnings)

	if len(r.Matrix) > 0 {
		fmt.Fprintln(w, "Driver sets")
		for _, v := range r.Matrix {
			p("  %s\t%s\n", v.Name, verdictWord(v.Verdict))
		}
		tw.Flush()
		for _, v := range r.Matrix {
			for _, rs := range v.Reasons {
				fmt.Fprintf(w, "  %s: %s: %s\n", v.DriverSet, rs.Severity, rs.Message)
				if rs.Remedy != "" {
					fmt.Fprintf(w, "      what to do: %s\n", rs.Remedy)
				}
			}
		}
	}
	_, err := fmt.Fprint(w, "")
	return err
}

func writeFindings(w io.Writer, title string, fs []safety.Finding) {
	if len(fs) == 0 {
		fmt.Fprintf(w, "%s: none\n", title)
		return
	}
	fmt.Fprintf(w, "%s (%d)\n", title, len(fs))
	for _, f := range fs {
		if f.Title != "" {
			fmt.Fprintf(w, "  - %s: %s\n", f.Title, f.Message)
		} else {
			fmt.Fprintf(w, "  - %s\n", f.Message)
		}
		if f.Remedy != "" {
			fmt.Fprintf(w, "    what to do: %s\n", f.Remedy)
		}
		if f.CLIRemedy != "" {
			fmt.Fprintf(w, "    on the command line: %s\n", f.CLIRemedy)
		}
		if f.Source != "" {
			fmt.Fprintf(w, "    see: %s\n", f.Source)
		}
		if f.Details != "" {
			fmt.Fprintf(w, "    details: %s\n", f.Details)
		}
	}
}

func verdictWord(v string) string {
	switch v {
	case matrix.Supported:
		return "supported"
	case matrix.SupportedWithWarnings:
		return "supported, with warnings"
	case matrix.Unsupported:
		return "NOT supported"
	}
	return v
}

// HumanBytes prints a size in binary units, e.g. "64.0 GiB"; the wizard
// shows sizes the same way.
func HumanBytes(n int64) string { return human.Bytes(n) }

func joinNonEmpty(parts ...string) string {
	var out []string
	for _, s := range parts {
		if s != "" {
			out = append(out, s)
		}
	}
	return strings.Join(out, " ")
}

func paren(s string) string {
	if s == "" {
		return ""
	}
	return "(" + s + ")"
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
