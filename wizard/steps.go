package wizard

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// OpenImage opens path (step 1). It forgets every later choice first, so a
// new image always starts a fresh run.
func (w *Wizard) OpenImage(ctx context.Context, path string) error {
	w.mu.Lock()
	if w.apply.Phase == ApplyRunning {
		w.mu.Unlock()
		return notAllowed("wait for apply to finish or cancel it")
	}
	w.gen++
	w.resetFrom(StepImage)
	w.step = StepImage
	w.imagePath = path
	gen, op := w.begin("Opening " + path + "…")
	w.unlockNotify()

	img, err := w.eng.OpenImage(ctx, path)

	w.mu.Lock()
	if !w.end(gen, op) {
		w.unlockNotify()
		return ErrStale
	}
	if err != nil {
		w.imageErr = fmt.Errorf("open %s: %w", path, err)
	} else {
		w.image = &img
		w.opts = Options{WriteCache: CacheKeep, Format: img.Format, Output: DefaultOutput(path, img.Format)}
	}
	err = w.imageErr
	w.unlockNotify()
	return err
}

// resetFrom forgets the results of step s and every step after it, keeping
// the image path. Caller holds mu.
func (w *Wizard) resetFrom(s Step) {
	if s <= StepImage {
		w.image, w.imageErr = nil, nil
		w.hiveLogs = nil
		w.opts = Options{WriteCache: CacheKeep}
		w.cacheTouched = false
	}
	if s <= StepGuest {
		w.guests, w.guestsLoaded, w.guestErr, w.guest = nil, false, nil, -1
		w.net = nil
	}
	if s <= StepCompat {
		w.verdicts, w.compatFindings, w.compatLoaded, w.compatErr = nil, nil, false, nil
		w.req = DriverRequest{}
	}
	w.plan, w.planErr, w.reviewed = nil, nil, false
	w.apply = ApplyStatus{}
}

// Load fetches what the current step needs and has not got yet: the guests
// on step 2, the verdicts on step 3, the plan on step 4 once a source is
// chosen. It returns nil when there was nothing to do.
func (w *Wizard) Load(ctx context.Context) error {
	w.mu.Lock()
	step := w.step
	need := false
	switch step {
	case StepGuest:
		need = !w.guestsLoaded && w.guestErr == nil
	case StepCompat:
		need = !w.compatLoaded && w.compatErr == nil && w.guest >= 0
	case StepDrivers:
		need = w.plan == nil && w.planErr == nil && w.req.Path != ""
	}
	w.mu.Unlock()
	if !need {
		return nil
	}
	switch step {
	case StepGuest:
		return w.detect(ctx)
	case StepCompat:
		return w.compat(ctx)
	default:
		return w.Plan(ctx)
	}
}

func (w *Wizard) detect(ctx context.Context) error {
	w.mu.Lock()
	gen, op := w.begin("Looking for Windows…")
	w.unlockNotify()

	gs, err := w.eng.Detect(ctx)

	w.mu.Lock()
	if !w.end(gen, op) {
		w.unlockNotify()
		return ErrStale
	}
	if err != nil {
		w.guestErr = fmt.Errorf("detect Windows in %s: %w", w.imagePath, err)
	} else {
		w.guests, w.guestsLoaded = gs, true
		if len(gs) == 1 {
			w.guest = 0
			w.net = NetChoices(gs[0])
		}
	}
	err = w.guestErr
	w.unlockNotify()
	return err
}

// canAddHiveLogs: some guest's hive is dirty without usable logs and the
// engine can take logs from elsewhere. Caller holds mu.
func (w *Wizard) canAddHiveLogs() bool {
	if _, ok := w.eng.(HiveLogSupplier); !ok {
		return false
	}
	for _, g := range w.guests {
		for _, f := range g.Findings {
			if strings.HasPrefix(f.Code, "hive.dirty_") {
				return true
			}
		}
	}
	return false
}

// AddHiveLogs supplies registry transaction logs kept elsewhere (step 2):
// the engine reads them, and Windows is looked for again with them beside
// their hives. The choice of guest and everything after it is reset.
func (w *Wizard) AddHiveLogs(ctx context.Context, paths []string) error {
	sup, ok := w.eng.(HiveLogSupplier)
	if !ok {
		return notAllowed("this engine cannot take registry logs from elsewhere")
	}
	w.mu.Lock()
	if w.apply.Phase == ApplyRunning || w.step != StepGuest {
		w.mu.Unlock()
		return notAllowed("registry logs are added on the Guest step")
	}
	w.gen++
	w.resetFrom(StepGuest)
	gen, op := w.begin("Reading the registry logs…")
	w.unlockNotify()

	err := sup.AddHiveLogs(ctx, paths)

	w.mu.Lock()
	if !w.end(gen, op) {
		w.unlockNotify()
		return ErrStale
	}
	if err != nil {
		w.guestErr = fmt.Errorf("add registry logs: %w", err)
		w.unlockNotify()
		return w.guestErr
	}
	w.hiveLogs = append(append([]string(nil), w.hiveLogs...), paths...)
	w.unlockNotify()
	return w.detect(ctx)
}

// SelectGuest chooses the Windows installation to prepare (step 2).
func (w *Wizard) SelectGuest(i int) error {
	w.mu.Lock()
	if i < 0 || i >= len(w.guests) {
		w.mu.Unlock()
		return notAllowed(fmt.Sprintf("no Windows installation number %d", i+1))
	}
	if w.guest != i {
		w.gen++
		w.resetFrom(StepCompat)
		w.guest = i
		w.net = NetChoices(w.guests[i])
	}
	w.unlockNotify()
	return nil
}

func (w *Wizard) compat(ctx context.Context) error {
	w.mu.Lock()
	guest := w.guest
	gen, op := w.begin("Checking compatibility…")
	w.unlockNotify()

	vs, fs, err := w.eng.Compatibility(ctx, guest)

	w.mu.Lock()
	if !w.end(gen, op) {
		w.unlockNotify()
		return ErrStale
	}
	if err != nil {
		w.compatErr = fmt.Errorf("check compatibility: %w", err)
	} else {
		w.verdicts, w.compatFindings, w.compatLoaded = bestFirst(vs), fs, true
		vs = w.verdicts
		// Preselect the answer file's source, else the first driver set
		// that supports the guest.
		for _, v := range vs {
			if a := w.prefill; a != nil {
				w.req = DriverRequest{Guest: guest, Set: a.Set, Path: a.Drivers, AllowUnsigned: a.AllowUnsigned}
				w.prefillOpts = true
				break
			}
			if v.Verdict != Unsupported && Set(v.Family).Valid() {
				w.req = DriverRequest{Guest: guest, Set: Set(v.Family)}
				break
			}
		}
	}
	err = w.compatErr
	w.unlockNotify()
	return err
}

// bestFirst orders verdicts supported, then supported with warnings, then
// unsupported, keeping the engine's order within each: the set that fits
// the guest comes first and is the one preselected (a Windows 8.1 guest
// that only virtio-win supports no longer opens on three unsupported
// Oracle VM releases).
func bestFirst(vs []Verdict) []Verdict {
	rank := func(k VerdictKind) int {
		switch k {
		case Supported:
			return 0
		case SupportedWarnings:
			return 1
		}
		return 2
	}
	out := append([]Verdict(nil), vs...)
	slices.SortStableFunc(out, func(a, b Verdict) int { return rank(a.Verdict) - rank(b.Verdict) })
	return out
}

// SetDriverSource chooses the driver set and where its files are (step 4).
// The plan is recomputed by Load or Plan.
func (w *Wizard) SetDriverSource(set Set, path string) error {
	if !set.Valid() {
		return notAllowed(fmt.Sprintf("unknown driver set %q", set))
	}
	w.mu.Lock()
	if w.req.Set != set || w.req.Path != path {
		w.gen++
		w.req.Set, w.req.Path, w.req.Guest = set, path, w.guest
		w.plan, w.planErr, w.reviewed = nil, nil, false
	}
	w.unlockNotify()
	return nil
}

// SetAllowUnsigned records the user's consent to unsigned drivers; the plan
// is recomputed because the engine's findings depend on it.
func (w *Wizard) SetAllowUnsigned(allow bool) {
	w.mu.Lock()
	if w.req.AllowUnsigned != allow {
		w.gen++
		w.req.AllowUnsigned = allow
		w.plan, w.planErr, w.reviewed = nil, nil, false
	}
	w.unlockNotify()
}

// Plan asks the engine for the plan of the chosen driver source.
func (w *Wizard) Plan(ctx context.Context) error {
	w.mu.Lock()
	if w.req.Path == "" {
		w.mu.Unlock()
		return notAllowed("choose where the drivers are")
	}
	req := w.req
	gen, op := w.begin("Reading drivers and building the plan…")
	w.unlockNotify()

	p, err := w.eng.PlanDrivers(ctx, req)

	w.mu.Lock()
	if !w.end(gen, op) {
		w.unlockNotify()
		return ErrStale
	}
	if err != nil {
		w.planErr = fmt.Errorf("plan drivers from %s: %w", req.Path, err)
	} else {
		w.plan = &p
		if w.prefillOpts {
			w.prefillOpts = false
			w.opts = w.prefill.options(w.imagePath, w.opts)
			w.cacheTouched = w.prefill.WriteCache != ""
			w.net = w.prefill.netChoices(w.net)
		}
		if !w.cacheTouched {
			w.opts.WriteCache = w.rules().WriteCache
		}
	}
	err = w.planErr
	w.unlockNotify()
	return err
}

// rules are the option rules of the planned driver set. Caller holds mu.
func (w *Wizard) rules() OptionRules {
	if w.plan == nil {
		return DefaultRules(w.req.Set, "")
	}
	if w.plan.Rules != nil {
		return *w.plan.Rules
	}
	fam := w.plan.Family
	if fam == "" {
		fam = w.req.Set
	}
	return DefaultRules(fam, w.plan.Version)
}

// SetOptions replaces the Options step's fields; validation happens in
// State and Next.
func (w *Wizard) SetOptions(o Options) {
	w.mu.Lock()
	if o.WriteCache != w.opts.WriteCache {
		w.cacheTouched = true
	}
	// A new format renames the output the user has not renamed:
	// demo-kvm.qcow2 becomes demo-kvm.vhdx when VHDX is chosen.
	if o.Format != w.opts.Format && o.Output == w.opts.Output {
		o.Output = OutputForFormat(o.Output, o.Format)
	}
	w.opts = o
	w.unlockNotify()
}

// Options returns the Options step's fields.
func (w *Wizard) Options() Options {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.opts
}

func (w *Wizard) imageReason() string {
	switch {
	case w.imagePath == "":
		return "Choose a disk image or drop one on the window"
	case w.imageErr != nil:
		return "The image could not be opened: " + w.imageErr.Error()
	case w.image == nil:
		return "Opening the image…"
	}
	return blockedReason(w.image.Findings)
}

// blockedReason is "" without blockers, else every blocker of fs at once.
func blockedReason(fs []Finding) string {
	b := Blockers(fs)
	switch len(b) {
	case 0:
		return ""
	case 1:
		return "Blocked: " + FindingText(b[0])
	}
	heads := make([]string, len(b))
	for i, f := range b {
		heads[i] = f.Heading()
	}
	return fmt.Sprintf("Blocked by %d problems: %s", len(b), strings.Join(heads, "; "))
}

func (w *Wizard) guestReason() string {
	switch {
	case w.guestErr != nil:
		return "Windows detection failed: " + w.guestErr.Error()
	case !w.guestsLoaded:
		return "Looking for Windows…"
	case len(w.guests) == 0:
		return "No Windows installation was found in this image"
	case w.guest < 0:
		return "Choose which Windows installation to prepare"
	}
	return blockedReason(w.guests[w.guest].Findings)
}

func (w *Wizard) compatReason() string {
	switch {
	case w.compatErr != nil:
		return "The compatibility check failed: " + w.compatErr.Error()
	case !w.compatLoaded:
		return "Checking compatibility…"
	}
	if r := blockedReason(w.compatFindings); r != "" {
		return r
	}
	for _, v := range w.verdicts {
		if v.Verdict != Unsupported {
			return ""
		}
	}
	return "No driver set supports this Windows; see the reasons above"
}

func (w *Wizard) driversReason() string {
	switch {
	case w.req.Path == "":
		return "Choose where the drivers are"
	case w.planErr != nil:
		return "No plan: " + w.planErr.Error()
	case w.plan == nil:
		return "Building the plan…"
	}
	if v, ok := w.verdictFor(w.plan); ok && v.Verdict == Unsupported {
		return fmt.Sprintf("%s does not support this Windows", v.Title)
	}
	if w.plan.NeedsUnsignedConsent && !w.req.AllowUnsigned {
		return "Unsigned drivers (" + strings.Join(w.plan.Unsigned, ", ") + ") need your consent"
	}
	if r := blockedReason(w.plan.Findings); r != "" {
		return r
	}
	if len(w.plan.Packages) == 0 {
		return "The source has no driver package for this Windows"
	}
	return ""
}

// verdictFor finds the verdict of the plan's driver set: by exact key, else
// by family when only one verdict has it. Caller holds mu.
func (w *Wizard) verdictFor(p *PlanSummary) (Verdict, bool) {
	var found []Verdict
	for _, v := range w.verdicts {
		if p.DriverSet != "" && v.DriverSet == p.DriverSet {
			return v, true
		}
		if p.Family != "" && Set(v.Family) == p.Family {
			found = append(found, v)
		}
	}
	if len(found) == 1 {
		return found[0], true
	}
	return Verdict{}, false
}
