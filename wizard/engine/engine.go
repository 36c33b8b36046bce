// Package engine implements the wizard's Engine over the real core. One
// core/target opened on step 1 is kept to Apply: core/inspect renders the
// first three steps from it, core/inject plans and applies against the
// Windows installation chosen on step 2, so the image and the driver source
// are read once per run; core/journal backs Roll back and Keep, and the
// bundled demo comes from assets.
package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/pvinject/pvinject/assets"
	"github.com/pvinject/pvinject/core/disk"
	"github.com/pvinject/pvinject/core/inject"
	"github.com/pvinject/pvinject/core/inspect"
	"github.com/pvinject/pvinject/core/matrix"
	"github.com/pvinject/pvinject/core/safety"
	"github.com/pvinject/pvinject/core/target"
	"github.com/pvinject/pvinject/wizard"
)

// Engine is the wizard's Engine over the real core. It keeps the target
// opened on step 1, the driver source opened on step 4 and the last
// reviewed plan, so that Apply writes only a plan the user saw, into the
// Windows installation the user chose.
type Engine struct {
	log *slog.Logger
	// Opener, when set before the first call, opens the image's host files
	// for reading (tests count the bytes read through it); nil is the host.
	Opener disk.Opener

	mu      sync.Mutex
	path    string
	tgt     *target.Target // as opened; closed by the next OpenImage
	report  *inspect.Report
	src     *inject.Source // the driver source of the last plan
	plan    *inject.Plan
	planID  string
	planReq wizard.DriverRequest

	demoDrivers string
	hiveLogs    map[string][]byte // supplied registry logs, by file name
	// outputs are the new images this engine wrote, with the reports saved
	// beside each: their undo is deleting them, as they have no journal.
	outputs map[string][]string
}

var (
	_ wizard.Engine          = (*Engine)(nil)
	_ wizard.DemoProvider    = (*Engine)(nil)
	_ wizard.HiveLogSupplier = (*Engine)(nil)
)

// New returns an Engine logging to log (nil discards).
func New(log *slog.Logger) *Engine {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Engine{log: log}
}

// Close releases the open image and driver source.
func (e *Engine) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.closeLocked()
}

func (e *Engine) closeLocked() error {
	var err error
	if e.tgt != nil {
		err = e.tgt.Close()
	}
	if e.src != nil {
		e.src.Close()
	}
	e.tgt, e.report, e.src, e.plan, e.planID = nil, nil, nil, nil, ""
	return err
}

// Step-1 findings: what is known of the image before looking for Windows.
var imageCodes = map[string]bool{
	inspect.CodeNoTable: true, inspect.CodeBitLocker: true, inspect.CodeLDM: true,
	inspect.CodeHasChildren: true, inspect.CodeReadOnlyFormat: true, inspect.CodeVHDXLog: true,
}

func (e *Engine) OpenImage(ctx context.Context, path string) (wizard.ImageSummary, error) {
	e.mu.Lock()
	if err := e.closeLocked(); err != nil {
		e.log.Warn("closing the previous image", "image", e.path, "err", err)
	}
	if e.path != path {
		e.hiveLogs = nil // logs supplied for another image
	}
	e.path = path
	logs := e.hiveLogs
	e.mu.Unlock()

	s := wizard.ImageSummary{Path: path, Partitions: []wizard.PartitionSummary{}}
	if st, err := os.Stat(path); err == nil {
		s.FileSize = st.Size()
	}
	if inject.HasJournal(path) {
		// The image holds an earlier run's changes (or half of them): what
		// it holds now is not the guest to plan for. Say what happened
		// and offer Roll back and Keep; nothing else until then.
		s.Journal = journalInfo(path)
		s.Findings = append(s.Findings, journalFinding(s.Journal))
		return s, nil
	}
	t, err := target.Open(ctx, path, target.Options{Opener: e.Opener, Logger: e.log, HiveLogs: logs})
	if err != nil {
		return wizard.ImageSummary{}, e.plain(base(path)+" cannot be read as a disk image", err)
	}
	r, err := inspect.FromTarget(ctx, t, nil, e.log)
	if err != nil {
		t.Close()
		return wizard.ImageSummary{}, err
	}
	e.mu.Lock()
	e.tgt, e.report = t, r
	e.mu.Unlock()
	s.Format, s.VirtualSize = r.Image.Format, r.Image.VirtualSize
	for _, l := range r.Image.Chain[min(1, len(r.Image.Chain)):] {
		s.Chain = append(s.Chain, wizard.ChainLink{Path: l.Path, Format: l.Format})
	}
	for _, p := range r.Partitions {
		s.Partitions = append(s.Partitions, wizard.PartitionSummary{
			Index: p.Index, Scheme: r.Image.PartitionScheme, Type: p.TypeName,
			Start: p.Start, Size: p.Size, Filesystem: p.Filesystem,
		})
	}
	for _, f := range r.Safety.All() {
		if imageCodes[f.Code] {
			s.Findings = append(s.Findings, e.finding(f))
		}
	}
	s.Findings = wizard.MergeFindings(s.Findings)
	return s, nil
}

// journalInfo describes the journal beside path.
func journalInfo(path string) *wizard.JournalInfo {
	j := &wizard.JournalInfo{Path: inject.JournalPath(path)}
	if _, err := os.Stat(path + inject.ReportSuffix); err == nil {
		j.Finished = true
		if _, err := os.Stat(path + inject.ReportHTMLSuffix); err == nil {
			j.ReportPath = path + inject.ReportHTMLSuffix
		}
	}
	return j
}

// CodeJournal is the step-1 blocker of an image that holds an earlier run's
// changes.
const CodeJournal = "wizard.journal_exists"

func journalFinding(j *wizard.JournalInfo) wizard.Finding {
	if j.Finished {
		return wizard.Finding{Severity: wizard.Blocker, Code: CodeJournal,
			Title: "pvinject already prepared this image",
			Message: "An earlier run wrote drivers into this image and kept a rollback record beside it (" +
				filepath.Base(j.Path) + "), so the change can still be undone.",
			Remedy: "Press Roll back to restore the image as it was before, or Keep to make the change final " +
				"(the rollback record is then deleted). Open the report to see what was changed."}
	}
	return wizard.Finding{Severity: wizard.Blocker, Code: CodeJournal,
		Title: "An earlier run of pvinject was interrupted",
		Message: "pvinject was stopped while it wrote to this image; the image may be half written. " +
			"Its rollback record (" + filepath.Base(j.Path) + ") holds the original bytes.",
		Remedy: "Press Roll back to restore the image as it was before that run."}
}

// current returns the target with install i chosen and the open path.
func (e *Engine) current(i int) (*target.Target, string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.tgt == nil {
		return nil, "", errors.New("no image is open")
	}
	if i < 0 && len(e.tgt.Installs) == 0 {
		return e.tgt, e.path, nil
	}
	t, err := e.tgt.Select(max(i, 0))
	return t, e.path, err
}

func (e *Engine) Detect(ctx context.Context) ([]wizard.GuestSummary, error) {
	t, _, err := e.current(-1)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	r := e.report
	e.mu.Unlock()
	if r == nil {
		return nil, errors.New("no image is open")
	}
	out := []wizard.GuestSummary{}
	for i, in := range t.Installs {
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
		// Everything known about this install on step 2: its own
		// findings and its volume's (hibernated, unclean NTFS), so every
		// blocker shows here at once, not one step later.
		var fs []safety.Finding
		fs = append(fs, w.Safety.Blockers...)
		fs = append(fs, w.Safety.Warnings...)
		if v := t.Volume(in.Partition); v != nil {
			fs = append(fs, v.Checks...)
		}
		g.Findings = wizard.MergeFindings(e.findings(fs))
		g.Network = netAdapters(r.AdaptersOf(i))
		out = append(out, g)
	}
	return out, nil
}

func (e *Engine) Compatibility(ctx context.Context, guestIdx int) ([]wizard.Verdict, []wizard.Finding, error) {
	t, _, err := e.current(guestIdx)
	if err != nil {
		return nil, nil, err
	}
	e.mu.Lock()
	r := e.report
	e.mu.Unlock()
	if r == nil || r.Selected != guestIdx {
		// Another install than step 1's report describes: its own report,
		// still from the open target (the boot check reads its volume).
		if r, err = inspect.FromTarget(ctx, t, nil, e.log); err != nil {
			return nil, nil, err
		}
	}
	var verdicts []wizard.Verdict
	for _, v := range r.Matrix {
		verdicts = append(verdicts, mapVerdict(v))
	}
	return verdicts, wizard.MergeFindings(e.findings(r.Safety.All())), nil
}

func mapVerdict(v matrix.Verdict) wizard.Verdict {
	w := wizard.Verdict{DriverSet: v.DriverSet, Family: family(v.DriverSet), Title: v.Name, Verdict: wizard.VerdictKind(v.Verdict)}
	for _, r := range v.Reasons {
		if r.Guest {
			continue // said once among the findings, not under every driver set
		}
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

func (e *Engine) request(path string, d wizard.DriverRequest, src *inject.Source) inject.Request {
	return inject.Request{Image: path, Drivers: d.Path, Set: string(d.Set), AllowUnsigned: d.AllowUnsigned, Logger: e.log, Source: src}
}

// source returns the driver source at path, opened once per run.
func (e *Engine) source(path string) (*inject.Source, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.src != nil && e.src.Path == path {
		return e.src, nil
	}
	s, err := inject.OpenSource(path)
	if err != nil {
		return nil, err
	}
	if e.src != nil {
		e.src.Close()
	}
	e.src = s
	return s, nil
}

func (e *Engine) PlanDrivers(ctx context.Context, req wizard.DriverRequest) (wizard.PlanSummary, error) {
	t, path, err := e.current(req.Guest)
	if err != nil {
		return wizard.PlanSummary{}, err
	}
	src, err := e.source(req.Path)
	if err != nil {
		return wizard.PlanSummary{}, e.plain(base(req.Path)+" cannot be read as a driver source", err)
	}
	// The target is chosen on the next step; review against a provisional
	// new image. Target checks (journal, parents, existing output) run again
	// in Apply with the real target, and the plan id covers only what the
	// target does not change.
	ir := e.request(path, req, src)
	ir.Output = filepath.Join(os.TempDir(), fmt.Sprintf("pvinject-review-%d.qcow2", time.Now().UnixNano()))
	plan, err := inject.BuildPlan(ctx, t, ir)
	if err != nil {
		return wizard.PlanSummary{}, e.plain("The plan could not be built", err)
	}
	id := planID(plan)
	e.mu.Lock()
	e.plan, e.planID, e.planReq = plan, id, req
	e.mu.Unlock()
	return e.summarisePlan(plan, id), nil
}

// planID names the reviewed content: the files and registry values it
// writes, and the installation they go to.
func planID(p *inject.Plan) string {
	h := sha256.New()
	fmt.Fprintf(h, "P %d %d %s\n", p.Partition.Index, p.Partition.Start, p.Guest.SystemRoot)
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

func (e *Engine) summarisePlan(p *inject.Plan, id string) wizard.PlanSummary {
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
	s.Findings = wizard.MergeFindings(e.findings(append(append([]safety.Finding{}, p.Blockers...), p.Warnings...)))
	s.Unused, s.Consents = p.UnusedSummary(), p.Consents()
	return s
}

// Apply rebuilds the plan with the options chosen on step 5 against the same
// target and driver source (nothing is read from the image or the source
// again: both are cached), checks it is the plan reviewed, and applies it.
// The open target is closed once the image is written, since its cached
// bytes no longer describe the image.
func (e *Engine) Apply(ctx context.Context, req wizard.ApplyRequest, progress func(float64, string)) (wizard.Report, error) {
	e.mu.Lock()
	reviewed, id, path := e.plan, e.planID, e.path
	e.mu.Unlock()
	if reviewed == nil || req.PlanID != id {
		return wizard.Report{}, fmt.Errorf("%s: the plan to apply is not the one reviewed; review the plan again", filepath.Base(path))
	}
	t, _, err := e.current(req.Drivers.Guest)
	if err != nil {
		return wizard.Report{}, err
	}
	src, err := e.source(req.Drivers.Path)
	if err != nil {
		return wizard.Report{}, e.plain(base(req.Drivers.Path)+" cannot be read as a driver source", err)
	}
	ir := e.request(path, req.Drivers, src)
	ir.InPlace, ir.Output, ir.Format = req.InPlace, req.Output, req.Format
	ir.MTU, ir.WriteCache = req.MTU, string(req.WriteCache)
	ir.KeepIP, ir.IPs = req.KeepIP, req.IPs
	plan, err := inject.BuildPlan(ctx, t, ir)
	if err != nil {
		return wizard.Report{}, e.plain("The plan could not be built", err)
	}
	if err := e.blockersError(e.summarisePlan(plan, "").Findings); err != nil {
		return wizard.Report{}, err
	}
	// Options only change the generated runner; anything else differing
	// means the image or the source changed since the review.
	if planID(plan) != id {
		return wizard.Report{}, fmt.Errorf("%s: the image or the driver source changed since the plan was reviewed; review the plan again", filepath.Base(path))
	}
	if req.InPlace {
		// The read-only view is about to go stale; the source stays open
		// for the report and a retry.
		e.forget(path)
	}
	rep, err := inject.Apply(ctx, plan, progress)
	if errors.Is(err, context.Canceled) {
		return wizard.Report{}, err
	}
	if err != nil {
		left := "the image was left as it was"
		if inject.HasJournal(plan.Target) {
			left = "undoing the changes failed: open the image again in pvinject and press Roll back"
		}
		return wizard.Report{}, e.plain("Writing "+base(plan.Target)+" failed ("+left+")", err)
	}
	if !plan.Request.InPlace {
		e.mu.Lock()
		if e.outputs == nil {
			e.outputs = map[string][]string{}
		}
		e.outputs[plan.Target] = []string{rep.ReportJSON, rep.ReportHTML}
		e.mu.Unlock()
	}
	return e.mapReport(plan, rep), nil
}

// undoText says how to undo the result, in the wizard's terms.
func undoText(p *inject.Plan) string {
	if p.Request.InPlace {
		return "Press Roll back on the last step of the wizard, or open the image again in pvinject and press Roll back."
	}
	return fmt.Sprintf("%s is a new image and %s was not changed. To undo, press Roll back on the last step (it deletes the new image), or delete %s yourself.",
		base(p.Target), base(p.Request.Image), base(p.Target))
}

// wrote reports whether this engine wrote path as a new image.
func (e *Engine) wrote(path string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, ok := e.outputs[path]
	return ok
}

// removeOutput deletes a new image this engine wrote and the reports saved
// beside it: its whole undo.
func (e *Engine) removeOutput(path string) error {
	e.mu.Lock()
	reports := e.outputs[path]
	delete(e.outputs, path)
	e.mu.Unlock()
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("deleting the new image %s: %w", base(path), err)
	}
	for _, r := range reports {
		if r != "" {
			if err := os.Remove(r); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("deleting the report %s: %w", base(r), err)
			}
		}
	}
	return nil
}

func (e *Engine) mapReport(p *inject.Plan, rep *inject.Report) wizard.Report {
	s := e.summarisePlan(p, "")
	out := wizard.Report{
		Image: p.Target, Source: p.Request.Image, InPlace: p.Request.InPlace,
		Files: s.Files, Registry: s.Registry, FirstBoot: s.FirstBoot,
		Rollback:   undoText(p),
		HostAdvice: p.HostAdvice, Findings: s.Findings,
		ReportPath: rep.ReportHTML, JournalPath: rep.Journal,
	}
	out.Verify = wizard.Verification{OK: rep.Verify.OK, Checked: rep.Verify.Files + rep.Verify.Values, Problems: rep.Verify.Problems}
	out.Boot = wizard.BootVerdict{Checked: rep.Boot.Checked, OK: rep.Boot.OK, Summary: rep.Boot.Summary}
	out.Consents, out.Unused = s.Consents, s.Unused
	return out
}

func (e *Engine) Rollback(ctx context.Context, imagePath string) error {
	if !inject.HasJournal(imagePath) {
		if e.wrote(imagePath) {
			// A new image has no rollback record: undoing it is deleting it
			// (the source was never changed), with the reports beside it.
			e.forget(imagePath)
			return e.removeOutput(imagePath)
		}
		return fmt.Errorf("%s has no rollback record: nothing to roll back", filepath.Base(imagePath))
	}
	e.forget(imagePath)
	return inject.Rollback(imagePath)
}

func (e *Engine) Accept(ctx context.Context, imagePath string) error {
	if !inject.HasJournal(imagePath) {
		return fmt.Errorf("%s has no rollback record: nothing to keep", filepath.Base(imagePath))
	}
	e.forget(imagePath)
	return inject.Accept(imagePath)
}

// forget closes the open target when it is imagePath, about to change.
func (e *Engine) forget(imagePath string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.tgt != nil && e.path == imagePath {
		if err := e.tgt.Close(); err != nil {
			e.log.Warn("closing the image", "image", imagePath, "err", err)
		}
		e.tgt, e.report = nil, nil
	}
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
