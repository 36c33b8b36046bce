// Package engine implements the wizard's Engine over the real core:
// core/inspect for the first three steps, core/inject for the plan, its
// application and verification, core/journal for rollback, and the bundled
// demo from assets.
package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/pvinject/pvinject/assets"
	"github.com/pvinject/pvinject/core/inject"
	"github.com/pvinject/pvinject/core/inspect"
	"github.com/pvinject/pvinject/core/matrix"
	"github.com/pvinject/pvinject/core/safety"
	"github.com/pvinject/pvinject/wizard"
)

// Engine is the wizard's Engine over the real core. It keeps the last
// inspection and the last reviewed plan, so that Apply writes only a plan
// the user saw.
type Engine struct {
	log *slog.Logger

	mu      sync.Mutex
	path    string
	report  *inspect.Report
	plan    *inject.Plan
	planID  string
	planReq wizard.DriverRequest

	demoDrivers string
}

var (
	_ wizard.Engine       = (*Engine)(nil)
	_ wizard.DemoProvider = (*Engine)(nil)
)

// New returns an Engine logging to log (nil discards).
func New(log *slog.Logger) *Engine {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Engine{log: log}
}

func (e *Engine) OpenImage(ctx context.Context, path string) (wizard.ImageSummary, error) {
	r, err := inspect.Inspect(ctx, path, inspect.Options{Logger: e.log})
	if err != nil {
		return wizard.ImageSummary{}, err
	}
	e.mu.Lock()
	e.path, e.report, e.plan, e.planID = path, r, nil, ""
	e.mu.Unlock()
	s := wizard.ImageSummary{
		Path:        path,
		Format:      r.Image.Format,
		VirtualSize: r.Image.VirtualSize,
		Partitions:  []wizard.PartitionSummary{},
	}
	if st, err := os.Stat(path); err == nil {
		s.FileSize = st.Size()
	}
	for _, l := range r.Image.Chain[min(1, len(r.Image.Chain)):] {
		s.Chain = append(s.Chain, wizard.ChainLink{Path: l.Path, Format: l.Format})
	}
	for _, p := range r.Partitions {
		s.Partitions = append(s.Partitions, wizard.PartitionSummary{
			Index: p.Index, Scheme: r.Image.PartitionScheme, Type: p.TypeName,
			Start: p.Start, Size: p.Size, Filesystem: p.Filesystem,
		})
	}
	// Image-level findings belong to step 1; guest ones to steps 2 and 3.
	for _, f := range append(append([]safety.Finding{}, r.Safety.Blockers...), r.Safety.Warnings...) {
		if strings.HasPrefix(f.Code, "image.") || strings.HasPrefix(f.Code, "partition.") {
			s.Findings = append(s.Findings, f)
		}
	}
	for _, child := range r.Image.Children {
		s.Findings = append(s.Findings, safety.Finding{Severity: safety.Warning, Code: "image.parent",
			Message: fmt.Sprintf("%s is the parent of %s: writing it in place would destroy that differencing disk", path, child),
			Remedy:  "write the result to a new image (step 5), or inject into the child instead"})
	}
	return s, nil
}

func (e *Engine) current() (*inspect.Report, string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.report == nil {
		return nil, "", fmt.Errorf("no image is open")
	}
	return e.report, e.path, nil
}

func (e *Engine) Detect(ctx context.Context) ([]wizard.GuestSummary, error) {
	r, _, err := e.current()
	if err != nil {
		return nil, err
	}
	out := []wizard.GuestSummary{}
	for i, in := range r.Installs {
		w := in.Windows
		g := wizard.GuestSummary{
			Partition: in.Partition, SystemRoot: w.SystemRoot, ProductName: w.ProductName,
			Major: w.Major, Minor: w.Minor, Build: w.Build, UBR: w.UBR,
			Edition: w.Edition, InstallationType: w.InstallationType,
			Arch: string(w.Arch), ControlSet: w.ControlSet,
		}
		if w.ServicePack > 0 {
			g.ServicePack = fmt.Sprintf("SP%d", w.ServicePack)
		}
		g.ControlSets = append(g.ControlSets, w.ControlSets.Present...)
		for _, pv := range w.PVDrivers {
			g.PVDrivers = append(g.PVDrivers, wizard.InstalledPV{Name: pv.Service, Family: pv.Family, Version: pv.Version})
		}
		g.Findings = append(append(g.Findings, w.Safety.Blockers...), w.Safety.Warnings...)
		g.Network = netAdapters(r.AdaptersOf(i))
		out = append(out, g)
	}
	return out, nil
}

func (e *Engine) Compatibility(ctx context.Context, guestIdx int) ([]wizard.Verdict, []safety.Finding, error) {
	_, path, err := e.current()
	if err != nil {
		return nil, nil, err
	}
	r := e.report
	if guestIdx != r.Selected {
		if r, err = inspect.Inspect(ctx, path, inspect.Options{Install: guestIdx, Logger: e.log}); err != nil {
			return nil, nil, err
		}
	}
	var verdicts []wizard.Verdict
	for _, v := range r.Matrix {
		verdicts = append(verdicts, mapVerdict(v))
	}
	findings := append(append([]safety.Finding{}, r.Safety.Blockers...), r.Safety.Warnings...)
	return verdicts, findings, nil
}

func mapVerdict(v matrix.Verdict) wizard.Verdict {
	w := wizard.Verdict{DriverSet: v.DriverSet, Family: family(v.DriverSet), Title: v.Name, Verdict: wizard.VerdictKind(v.Verdict)}
	for _, r := range v.Reasons {
		w.Reasons = append(w.Reasons, wizard.Reason{Text: r.Message, Source: r.Source})
	}
	return w
}

// family maps a matrix set id to the --set value that selects its drivers.
func family(set string) string {
	switch {
	case strings.HasPrefix(set, "oracle"):
		return string(wizard.SetOracle)
	case strings.HasPrefix(set, "xcp") || strings.HasPrefix(set, "xen"):
		return string(wizard.SetXen)
	case strings.HasPrefix(set, "virtio"):
		return string(wizard.SetVirtioWin)
	}
	return set
}

func (e *Engine) request(path string, d wizard.DriverRequest) inject.Request {
	return inject.Request{Image: path, Drivers: d.Path, Set: string(d.Set), AllowUnsigned: d.AllowUnsigned, Logger: e.log}
}

func (e *Engine) PlanDrivers(ctx context.Context, req wizard.DriverRequest) (wizard.PlanSummary, error) {
	_, path, err := e.current()
	if err != nil {
		return wizard.PlanSummary{}, err
	}
	// The target is chosen on the next step; review against a provisional
	// new image. Target checks (journal, parents, existing output) run again
	// in Apply with the real target, and the plan id covers only what the
	// target does not change.
	ir := e.request(path, req)
	ir.Output = filepath.Join(os.TempDir(), fmt.Sprintf("pvinject-review-%d.qcow2", time.Now().UnixNano()))
	plan, err := inject.BuildPlan(ctx, ir)
	if err != nil {
		return wizard.PlanSummary{}, err
	}
	id := planID(plan)
	e.mu.Lock()
	e.plan, e.planID, e.planReq = plan, id, req
	e.mu.Unlock()
	return summarisePlan(plan, id), nil
}

// planID names the reviewed content: the files and registry values it writes.
func planID(p *inject.Plan) string {
	h := sha256.New()
	for _, f := range p.Files {
		if !strings.HasPrefix(f.Source, "generated:") {
			fmt.Fprintf(h, "F %s %s\n", f.Path, f.SHA256)
		}
	}
	for _, r := range p.Registry {
		b, _ := json.Marshal(struct {
			H, K, N, O string
			V          *inject.RegValue
		}{r.Hive, r.Key, r.Name, r.Op, r.New})
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

func summarisePlan(p *inject.Plan, id string) wizard.PlanSummary {
	s := wizard.PlanSummary{ID: id, DriverSet: p.DriverSet.MatrixID, Family: wizard.Set(p.DriverSet.Kind),
		Packages: []wizard.PackagePick{}, Files: []wizard.FileChange{}, Registry: []wizard.RegChange{}}
	for _, pk := range p.Packages {
		s.Packages = append(s.Packages, wizard.PackagePick{Name: pk.Name, INF: pk.INF, Version: pk.DriverVer,
			Arch: string(p.Guest.Arch), Signed: pk.Signed, BootCritical: pk.BootCritical, Reason: pk.Reason})
		if !pk.Signed {
			s.Unsigned = append(s.Unsigned, pk.Name)
		}
	}
	s.NeedsUnsignedConsent = len(s.Unsigned) > 0 && p.Guest.Arch.Bits() == 64
	for _, f := range p.Files {
		action := "create"
		if f.Existed {
			action = "replace"
		}
		s.Files = append(s.Files, wizard.FileChange{Path: f.Path, Action: action, Size: f.Size, Reason: f.Reason})
	}
	for _, r := range p.Registry {
		c := wizard.RegChange{Key: `HKLM\` + r.Hive + `\` + r.Key, Value: r.Name, Action: r.Op, Reason: r.Reason, OldAbsent: r.Old == nil}
		if r.Old != nil {
			c.Old, c.Type = r.Old.Text, r.Old.Type.String()
		}
		if r.New != nil {
			c.New, c.Type = r.New.Text, r.New.Type.String()
		}
		switch r.Op {
		case inject.OpDeleteValue, inject.OpDeleteKey:
			c.Action = "delete"
		}
		s.Registry = append(s.Registry, c)
	}
	s.FirstBoot = inject.FirstBootSteps(p)
	s.Findings = append(append(s.Findings, p.Blockers...), p.Warnings...)
	s.Unused, s.Consents = p.UnusedSummary(), p.Consents()
	return s
}

func (e *Engine) Apply(ctx context.Context, req wizard.ApplyRequest, progress func(float64, string)) (wizard.Report, error) {
	e.mu.Lock()
	reviewed, id, path := e.plan, e.planID, e.path
	e.mu.Unlock()
	if reviewed == nil || req.PlanID != id {
		return wizard.Report{}, fmt.Errorf("%s: the plan to apply is not the one reviewed; review the plan again", path)
	}
	ir := e.request(path, req.Drivers)
	ir.InPlace, ir.Output, ir.Format = req.InPlace, req.Output, req.Format
	ir.MTU, ir.WriteCache = req.MTU, string(req.WriteCache)
	ir.KeepIP, ir.IPs = req.KeepIP, req.IPs
	plan, err := inject.BuildPlan(ctx, ir)
	if err != nil {
		return wizard.Report{}, err
	}
	// Options only change the generated runner; anything else differing
	// means the image or the source changed since the review.
	if planID(plan) != id {
		return wizard.Report{}, fmt.Errorf("%s: the image or the driver source changed since the plan was reviewed; review the plan again", path)
	}
	rep, err := inject.Apply(ctx, plan, progress)
	if err != nil {
		return wizard.Report{}, err
	}
	return mapReport(plan, rep), nil
}

func mapReport(p *inject.Plan, rep *inject.Report) wizard.Report {
	s := summarisePlan(p, "")
	out := wizard.Report{
		Image: p.Target, Source: p.Request.Image, InPlace: p.Request.InPlace,
		Files: s.Files, Registry: s.Registry, FirstBoot: s.FirstBoot,
		Rollback:   rep.Rollback,
		HostAdvice: p.HostAdvice, Findings: s.Findings,
		ReportPath: rep.ReportHTML,
	}
	out.Verify = wizard.Verification{OK: rep.Verify.OK, Checked: rep.Verify.Files + rep.Verify.Values, Problems: rep.Verify.Problems}
	out.Boot = wizard.BootVerdict{Checked: rep.Boot.Checked, OK: rep.Boot.OK, Summary: rep.Boot.Summary}
	out.Consents, out.Unused = s.Consents, s.Unused
	return out
}

func (e *Engine) Rollback(ctx context.Context, imagePath string) error {
	return inject.Rollback(imagePath)
}

// DemoImage unpacks a fresh copy of the bundled demo (so a training lab can
// run it again and again) into the user's cache folder and returns the
// image; DemoDrivers then names the demo driver set.
func (e *Engine) DemoImage(ctx context.Context) (string, error) {
	img, drivers, err := assets.DemoImage("")
	if err != nil {
		return "", fmt.Errorf("unpacking the demo image: %w", err)
	}
	e.mu.Lock()
	e.demoDrivers = drivers
	e.mu.Unlock()
	return img, nil
}

// DemoDrivers is the demo driver set unpacked by the last DemoImage, "" before.
func (e *Engine) DemoDrivers() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.demoDrivers
}
