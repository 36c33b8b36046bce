package inject

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pvinject/pvinject/core/firstboot"
	"github.com/pvinject/pvinject/internal/hostfile"
)

// ReportSuffix and ReportHTMLSuffix name the reports saved beside the image.
const (
	ReportSuffix     = ".pvinject-report.json"
	ReportHTMLSuffix = ".pvinject-report.html"
)

// Report is what an injection did, saved beside the image and read back by
// Verify.
type Report struct {
	// Attention repeats first what a reader must see before anything else:
	// the boot check's verdict, blockers, warnings, the risks accepted.
	Attention  Attention    `json:"attention"`
	Plan       *Plan        `json:"plan"`
	Applied    bool         `json:"applied"`
	Started    time.Time    `json:"started"`
	Finished   time.Time    `json:"finished"`
	Verify     VerifyResult `json:"verify"`
	Boot       BootResult   `json:"boot"`
	Journal    string       `json:"journal,omitempty"`
	Rollback   string       `json:"rollback"`
	FirstBoot  []string     `json:"first_boot"`
	ReportJSON string       `json:"report_json,omitempty"`
	ReportHTML string       `json:"report_html,omitempty"`
}

// VerifyResult is the outcome of re-reading every planned change.
type VerifyResult struct {
	OK       bool     `json:"ok"`
	Files    int      `json:"files"`
	Values   int      `json:"values"`
	Problems []string `json:"problems,omitempty"`
}

func newReport(p *Plan) *Report {
	r := &Report{Plan: p, Rollback: "pvinject rollback " + shellQuote(p.Target), Attention: attentionOf(p)}
	if !p.Request.InPlace {
		// A new image has no journal: undoing it is deleting it.
		r.Rollback = "delete " + p.Target + " (a new image; " + p.Request.Image + " was never changed)"
	}
	r.FirstBoot = firstBootSteps(p)
	return r
}

func shellQuote(s string) string {
	if os.PathSeparator == '\\' {
		return windowsQuote(s)
	}
	if strings.ContainsAny(s, " '\"$`\\") {
		return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
	}
	return s
}

// firstBootSteps says in words what the runner will do.
func firstBootSteps(p *Plan) []string {
	c := p.FirstBoot
	s := []string{fmt.Sprintf("The %s service (LocalSystem, before anyone logs on) starts %%SystemRoot%%\\%s\\firstboot.cmd.", firstboot.ServiceName, firstboot.Dir)}
	for _, pk := range c.Packages {
		req := "optional: a failure is logged and skipped"
		if pk.Required {
			req = "required: retried on the next boot"
		}
		s = append(s, fmt.Sprintf("pnputil installs %s (%s; %s).", pk.Name, pk.INF, req))
	}
	if c.JumboPacket != 0 {
		s = append(s, fmt.Sprintf("netkvm *JumboPacket is set to %d (MTU %d) on the virtio NICs.", c.JumboPacket, c.JumboPacket-ethHeader))
	}
	if c.NICMTU != 0 {
		s = append(s, fmt.Sprintf("The PV NIC's MTU property is set to %d.", c.NICMTU))
	}
	s = append(s, networkSteps(p)...)
	if c.WriteCache != "" && c.WriteCache != firstboot.CacheKeep {
		s = append(s, fmt.Sprintf("Disk write caching is turned %s on the PV disks.", c.WriteCache))
	}
	for _, cmd := range c.Commands {
		s = append(s, fmt.Sprintf("Runs %s: %s", cmd.Name, cmd.Line))
	}
	if c.ResetVSockWinsock {
		s = append(s, "Resets the Winsock catalog (netsh winsock reset) if it still lists the VMware vSockets provider, which would keep virtio-vsock from registering.")
	}
	s = append(s, fmt.Sprintf("Retries at most %d boots, logs to %%SystemRoot%%\\%s, then removes its service and itself.", max(c.MaxBoots, 1), firstboot.Dir))
	return s
}

// hostAdvice is what the new VM's configuration needs (facts §3.4, §3.5).
func (pl *planner) hostAdvice() {
	p := pl.p
	var a []string
	var boot []string
	for _, pk := range p.Packages {
		if pk.BootCritical {
			boot = append(boot, strings.ToLower(pk.Name))
		}
	}
	switch p.DriverSet.Family {
	case "virtio":
		for _, b := range boot {
			switch b {
			case "vioscsi":
				a = append(a, "QEMU/KVM: or attach the system disk to a virtio-scsi controller (-device virtio-scsi-pci + scsi-hd; libvirt bus='scsi' with a virtio-scsi controller): vioscsi is pre-seeded too.")
			case "viostor":
				a = append(a, "QEMU/KVM: attach the system disk as virtio-blk (-device virtio-blk-pci; libvirt <target bus='virtio'/>): viostor is pre-seeded as a boot driver.")
			}
		}
		if p.Options.MTU != 0 {
			a = append(a, fmt.Sprintf("QEMU/KVM: give the NIC host_mtu=%d (-device virtio-net-pci,host_mtu=%d; libvirt <mtu size='%d'/>): netkvm then takes the MTU from the host and overrides the registry setting (virtio-win NetKVM driver).", p.Options.MTU, p.Options.MTU, p.Options.MTU))
		}
		switch p.Options.WriteCache {
		case "off":
			a = append(a, "QEMU/KVM: use cache=none (or writethrough) for the disk to match the guest's write cache off.")
		case "on":
			a = append(a, "QEMU/KVM: use cache=writeback or cache=none with write-cache=on; the guest flushes, so keep flushes honoured (no cache=unsafe).")
		default:
			a = append(a, "QEMU/KVM: cache=none is the safe default; never cache=unsafe for a production guest.")
		}
	case "xen":
		a = append(a, "Oracle VM / Xen: keep the HVM guest type so the emulated IDE disk and NIC work until the PV drivers are installed at first boot.")
		if p.Options.MTU != 0 {
			a = append(a, fmt.Sprintf("Oracle VM / Xen: set MTU %d on the bridge or virtual network the VIF joins as well.", p.Options.MTU))
		}
		if p.Options.WriteCache == "off" {
			a = append(a, "Oracle VM / Xen: write caching is off in the guest (the Oracle 3.2.3 default after the data-loss fix).")
		}
	}
	a = append(a, "Shut the guest down cleanly before the first boot test; keep the original image until the guest has booted twice.")
	p.HostAdvice = a
}

// guestReport adds the HTML copy of the plan to the guest.
func (pl *planner) guestReport() error {
	path := sysRoot(pl.w) + `\` + firstboot.Dir + `\report.html`
	pl.p.GuestReport = path
	r := newReport(pl.p)
	html, err := r.HTML()
	if err != nil {
		return err
	}
	pl.addFile(path, html, "generated:report", "the report inside the guest, for whoever logs on first", true)
	return nil
}

// JSON renders the report.
func (r *Report) JSON() ([]byte, error) { return json.MarshalIndent(r, "", "  ") }

// Text renders the report for a terminal.
func (r *Report) Text() string {
	var b strings.Builder
	r.writeText(&b)
	return b.String()
}

func (r *Report) writeText(w io.Writer) {
	p := r.Plan
	fmt.Fprintf(w, "pvinject report for %s\n", p.Target)
	r.writeAttention(w)
	g := p.Guest
	fmt.Fprintf(w, "Guest: %s (%d.%d build %d, %s) at %s on partition %d\n", g.ProductName, g.Major, g.Minor, g.Build, g.Arch, g.SystemRoot, p.Partition.Index)
	fmt.Fprintf(w, "Drivers: %s (%s)\n", p.DriverSet.Path, p.DriverSet.Kind)
	for _, v := range p.Verdicts {
		fmt.Fprintf(w, "  matrix %-16s %s\n", v.DriverSet, v.Verdict)
	}
	fmt.Fprintln(w, "Packages:")
	for _, pk := range p.Packages {
		fmt.Fprintf(w, "  %-10s %s %s boot-critical=%v signed=%v: %s\n", pk.Name, pk.INF, pk.DriverVer, pk.BootCritical, pk.Signed, pk.Reason)
	}
	for _, u := range p.UnusedSummary() {
		fmt.Fprintf(w, "  not used, %s\n", u)
	}
	fmt.Fprintf(w, "Files (%d):\n", len(p.Files))
	for _, f := range p.Files {
		state := "new"
		if f.Existed {
			state = "replaces " + short(f.OldSHA256)
		}
		fmt.Fprintf(w, "  %s (%d bytes, sha256 %s, %s) from %s\n", f.Path, f.Size, short(f.SHA256), state, f.Source)
	}
	fmt.Fprintf(w, "Registry (%d):\n", len(p.Registry))
	for _, op := range p.Registry {
		fmt.Fprintf(w, "  %s\n      why: %s\n", op, op.Reason)
	}
	fmt.Fprintln(w, "At first boot:")
	for _, s := range r.FirstBoot {
		fmt.Fprintf(w, "  - %s\n", s)
	}
	fmt.Fprintln(w, "Host side:")
	for _, s := range p.HostAdvice {
		fmt.Fprintf(w, "  - %s\n", s)
	}
	if r.Applied {
		fmt.Fprintf(w, "Verification: ok=%v, %d files and %d registry values re-read\n", r.Verify.OK, r.Verify.Files, r.Verify.Values)
		for _, pr := range r.Verify.Problems {
			fmt.Fprintf(w, "  problem: %s\n", pr)
		}
	}
	fmt.Fprintf(w, "To undo: %s\n", r.Rollback)
}

// short abbreviates a hash for people.
func short(s string) string {
	if len(s) > 16 {
		return s[:16]
	}
	return s
}

var htmlTmpl = template.Must(template.New("r").Funcs(template.FuncMap{"short": short}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>pvinject report</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;font-size:90%;vertical-align:top}.b{color:#a00}.w{color:#a60}code{font-size:90%}</style>
</head><body>
<h1>pvinject report</h1>
<p>Image: <code>{{.Plan.Target}}</code>{{if .Applied}} &mdash; applied {{.Finished.Format "2006-01-02 15:04:05 MST"}}, verification {{if .Verify.OK}}passed{{else}}FAILED{{end}} ({{.Verify.Files}} files, {{.Verify.Values}} registry values){{else}} &mdash; planned changes{{end}}</p>
{{if .Plan.Blockers}}<h2 class="b">Blockers</h2><ul>{{range .Plan.Blockers}}<li class="b">{{if .Title}}<b>{{.Title}}</b>: {{end}}{{.Message}} {{if .Remedy}}&rarr; {{.Remedy}}{{end}}</li>{{end}}</ul>{{end}}
{{if .Plan.Warnings}}<h2 class="w">Warnings</h2><ul>{{range .Plan.Warnings}}<li class="w">{{if .Title}}<b>{{.Title}}</b>: {{end}}{{.Message}} {{if .Remedy}}&rarr; {{.Remedy}}{{end}}</li>{{end}}</ul>{{end}}
{{if .Applied}}{{if .Boot.Checked}}{{if .Boot.OK}}<h2>Boot check: Windows will boot</h2>{{else}}<h2 class="b">Boot check: Windows will NOT boot</h2>{{end}}{{else}}<h2 class="b">Boot check could not run</h2>{{end}}<ul>{{range .Boot.Summary}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{with .Plan.Consents}}<h2 class="w">Risks you accepted</h2><ul>{{range .}}<li class="w">{{.}}</li>{{end}}</ul>{{end}}
<h2>Guest</h2>
<p>{{.Plan.Guest.ProductName}} ({{.Plan.Guest.Major}}.{{.Plan.Guest.Minor}} build {{.Plan.Guest.Build}}, {{.Plan.Guest.Arch}}) at <code>{{.Plan.Guest.SystemRoot}}</code>, control sets {{.Plan.Guest.ControlSets.Present}}</p>
<h2>Driver sets</h2><table><tr><th>Set</th><th>Verdict</th><th>Reasons</th></tr>
{{range .Plan.Verdicts}}<tr><td>{{.Name}}</td><td>{{.Verdict}}</td><td>{{range .Reasons}}{{.Message}} <i>({{.Source}})</i><br>{{end}}</td></tr>{{end}}</table>
<h2>Packages</h2><table><tr><th>Name</th><th>INF</th><th>Version</th><th>Boot-critical</th><th>Signed</th><th>Why</th></tr>
{{range .Plan.Packages}}<tr><td>{{.Name}}</td><td>{{.INF}}</td><td>{{.DriverVer}}</td><td>{{.BootCritical}}</td><td>{{.Signed}}</td><td>{{.Reason}}</td></tr>{{end}}</table>
{{if .Plan.Rejected}}<h2>Packages not used</h2><table><tr><th>Name</th><th>INF</th><th>Why</th></tr>
{{range .Plan.Rejected}}<tr><td>{{.Name}}</td><td>{{.Path}}</td><td>{{.Reason}}</td></tr>{{end}}</table>{{end}}
<h2>Files</h2><table><tr><th>Path</th><th>Size</th><th>SHA-256</th><th>Before</th><th>Source</th><th>Why</th></tr>
{{range .Plan.Files}}<tr><td><code>{{.Path}}</code></td><td>{{.Size}}</td><td><code>{{short .SHA256}}</code></td><td>{{if .Existed}}<code>{{short .OldSHA256}}</code>{{else}}new{{end}}</td><td>{{.Source}}</td><td>{{.Reason}}</td></tr>{{end}}</table>
<h2>Registry</h2><table><tr><th>Hive</th><th>Key</th><th>Value</th><th>Old</th><th>New</th><th>Why</th></tr>
{{range .Plan.Registry}}<tr><td>{{.Hive}}</td><td><code>{{.Key}}</code></td><td>{{.Op}} {{.Name}}</td><td>{{if .Old}}{{.Old.Text}}{{else}}&mdash;{{end}}</td><td>{{if .New}}{{.New.Text}}{{else}}&mdash;{{end}}</td><td>{{.Reason}}</td></tr>{{end}}</table>
<h2>At first boot</h2><ol>{{range .FirstBoot}}<li>{{.}}</li>{{end}}</ol>
<h2>Host side</h2><ul>{{range .Plan.HostAdvice}}<li>{{.}}</li>{{end}}</ul>
{{if .Plan.Request.InPlace}}<h2>Rolling back</h2><p>Run <code>{{.Rollback}}</code> on the host: it restores every byte pvinject changed, from the journal kept beside the image.</p>{{else}}<h2>Undoing</h2><p>This is a new image and {{.Plan.Request.Image}} was never changed: to undo, delete <code>{{.Plan.Target}}</code>.</p>{{end}}
{{if .Verify.Problems}}<h2 class="b">Verification problems</h2><ul>{{range .Verify.Problems}}<li>{{.}}</li>{{end}}</ul>{{end}}
</body></html>
`))

// HTML renders the report as a standalone page.
func (r *Report) HTML() ([]byte, error) {
	var b bytes.Buffer
	if err := htmlTmpl.Execute(&b, r); err != nil {
		return nil, fmt.Errorf("inject: render report: %w", err)
	}
	return b.Bytes(), nil
}

// maxReportSize bounds what LoadReport reads: a report lists what one run
// wrote, some hundred kilobytes at most.
const maxReportSize = 64 << 20

// ErrNoReport is wrapped by LoadReport's error for an image that has no
// report beside it.
var ErrNoReport = errors.New("no pvinject report beside the image")

// LoadReport reads the report saved beside an image.
func LoadReport(imagePath string) (*Report, error) {
	name := imagePath + ReportSuffix
	b, err := hostfile.ReadFile(name, maxReportSize)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w (%s): only an image that pvinject wrote, with the report it saved kept beside it, can be checked against it", imagePath, ErrNoReport, filepath.Base(name))
	}
	if err != nil {
		return nil, fmt.Errorf("the image's report cannot be read: %w", err)
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("report %s is damaged and cannot be read (%v)", name, err)
	}
	if r.Plan == nil {
		return nil, fmt.Errorf("report %s is damaged: it lists nothing that was written", name)
	}
	return &r, nil
}

func statFile(p string) (os.FileInfo, error) { return os.Stat(p) }
