package wizard

import (
	"errors"
	"sync"
)

// Step is one of the six wizard steps, numbered from 1.
type Step int

// The steps, in order.
const (
	StepImage Step = iota + 1
	StepGuest
	StepCompat
	StepDrivers
	StepOptions
	StepApply
)

// NumSteps is how many steps the wizard has.
const NumSteps = int(StepApply)

var stepNames = [...]string{"", "Image", "Guest", "Compatibility", "Drivers", "Options", "Apply"}

func (s Step) String() string {
	if s < StepImage || s > StepApply {
		return "Step?"
	}
	return stepNames[s]
}

// ApplyPhase is where the Apply step stands.
type ApplyPhase string

// Apply phases.
const (
	ApplyIdle       ApplyPhase = ""
	ApplyRunning    ApplyPhase = "running"
	ApplyDone       ApplyPhase = "done"
	ApplyFailed     ApplyPhase = "failed"
	ApplyCancelled  ApplyPhase = "cancelled"
	ApplyRolledBack ApplyPhase = "rolled-back"
	// ApplyKept: the user kept the change; its rollback record is gone.
	ApplyKept ApplyPhase = "kept"
)

// ApplyStatus is the state of the Apply step.
type ApplyStatus struct {
	Phase  ApplyPhase
	Frac   float64
	Action string
	Report *Report
	Err    error
}

// ErrStale is returned by a loading method whose result was dropped because
// the user changed an earlier choice while it ran.
var ErrStale = errors.New("wizard: result dropped, an earlier choice changed")

// ErrNotAllowed is wrapped by navigation and apply calls the rules refuse;
// the message says why.
var ErrNotAllowed = errors.New("wizard: not allowed")

// Wizard holds the state of one run of the wizard. Create it with New.
type Wizard struct {
	mu  sync.Mutex
	eng Engine

	step   Step
	gen    uint64 // bumped whenever a choice invalidates later results
	busy   string // what is loading, "" when idle
	busyOp uint64
	onChg  func()

	imagePath string
	image     *ImageSummary
	imageErr  error

	guests       []GuestSummary
	guestsLoaded bool
	guestErr     error
	guest        int
	hiveLogs     []string // log files the user supplied for this image

	verdicts       []Verdict
	compatFindings []Finding
	compatLoaded   bool
	compatErr      error

	req      DriverRequest
	plan     *PlanSummary
	planErr  error
	reviewed bool

	opts         Options
	cacheTouched bool
	net          []NetChoice // the Options step's static adapters (network.go)

	apply       ApplyStatus
	cancelApply func()
	applyDone   chan struct{} // closed when the running Apply returns

	prefill     *Answers // pre-fills the Drivers and Options steps of every run
	prefillOpts bool     // options from prefill still to be applied
}

// New returns a wizard on step 1 over eng.
func New(eng Engine) *Wizard {
	return &Wizard{eng: eng, step: StepImage, guest: -1, opts: Options{WriteCache: CacheKeep}}
}

// Engine returns the engine the wizard drives.
func (w *Wizard) Engine() Engine { return w.eng }

// OnChange sets fn to be called, from whichever goroutine made the change and
// without the wizard's lock held, after every state change. The UI uses it to
// schedule a redraw.
func (w *Wizard) OnChange(fn func()) {
	w.mu.Lock()
	w.onChg = fn
	w.mu.Unlock()
}

// unlockNotify releases the lock and tells the listener.
func (w *Wizard) unlockNotify() {
	fn := w.onChg
	w.mu.Unlock()
	if fn != nil {
		fn()
	}
}

// State is a snapshot of the wizard for rendering. Slices are shared with the
// wizard, which replaces them but never changes them in place: read only.
type State struct {
	Step Step
	Busy string // what is loading, "" when idle

	ImagePath string
	Image     *ImageSummary
	ImageErr  error

	Guests       []GuestSummary
	GuestsLoaded bool
	GuestErr     error
	Guest        int // chosen index into Guests, -1 for none
	// HiveLogs are the registry log files the user supplied (step 2).
	HiveLogs []string
	// CanAddHiveLogs: a guest's hive needs transaction logs that are not
	// beside it, and the engine can take them from elsewhere (step 2
	// offers "Add registry logs…").
	CanAddHiveLogs bool

	Verdicts       []Verdict
	CompatFindings []Finding
	CompatLoaded   bool
	CompatErr      error

	Request  DriverRequest
	Plan     *PlanSummary
	PlanErr  error
	Reviewed bool

	Options      Options
	Rules        OptionRules
	OptionErrors []FieldError
	Network      []NetChoice // static adapters on the Options step (network.go)

	Apply ApplyStatus

	CanNext     bool
	NextReason  string // why Next is disabled
	CanBack     bool
	BackReason  string
	CanApply    bool
	ApplyReason string
}

// State returns a snapshot of the wizard.
func (w *Wizard) State() State {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := State{
		Step: w.step, Busy: w.busy,
		ImagePath: w.imagePath, Image: w.image, ImageErr: w.imageErr,
		Guests: w.guests, GuestsLoaded: w.guestsLoaded, GuestErr: w.guestErr, Guest: w.guest,
		HiveLogs: w.hiveLogs, CanAddHiveLogs: w.canAddHiveLogs(),
		Verdicts: w.verdicts, CompatFindings: w.compatFindings, CompatLoaded: w.compatLoaded, CompatErr: w.compatErr,
		Request: w.req, Plan: w.plan, PlanErr: w.planErr, Reviewed: w.reviewed,
		Options: w.opts, Rules: w.rules(), OptionErrors: append(w.opts.Validate(w.imagePath, w.rules()), validateNet(w.net)...),
		Network: append([]NetChoice(nil), w.net...),
		Apply:   w.apply,
	}
	s.NextReason = w.nextReason()
	s.CanNext = s.NextReason == ""
	s.BackReason = w.backReason()
	s.CanBack = s.BackReason == ""
	s.ApplyReason = w.applyReason()
	s.CanApply = s.ApplyReason == ""
	return s
}

// Step returns the current step.
func (w *Wizard) Step() Step {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.step
}

// Next moves to the following step when the current one is valid. Leaving
// the Drivers step marks its plan as reviewed.
func (w *Wizard) Next() error {
	w.mu.Lock()
	if r := w.nextReason(); r != "" {
		w.mu.Unlock()
		return notAllowed(r)
	}
	if w.step == StepDrivers {
		w.reviewed = true
	}
	w.step++
	w.unlockNotify()
	return nil
}

// Back moves to the previous step when allowed.
func (w *Wizard) Back() error {
	w.mu.Lock()
	if r := w.backReason(); r != "" {
		w.mu.Unlock()
		return notAllowed(r)
	}
	w.step--
	if w.apply.Phase == ApplyFailed || w.apply.Phase == ApplyCancelled {
		w.apply = ApplyStatus{}
	}
	w.unlockNotify()
	return nil
}

// StartOver returns to step 1, forgetting every choice but the image path;
// the caller reopens the image.
func (w *Wizard) StartOver() error {
	w.mu.Lock()
	if w.apply.Phase == ApplyRunning {
		w.mu.Unlock()
		return notAllowed("wait for apply to finish or cancel it")
	}
	w.gen++
	w.resetFrom(StepImage)
	w.step = StepImage
	w.unlockNotify()
	return nil
}

func notAllowed(reason string) error { return &notAllowedError{reason} }

type notAllowedError struct{ reason string }

func (e *notAllowedError) Error() string { return e.reason }
func (e *notAllowedError) Unwrap() error { return ErrNotAllowed }

// backReason is "" when Back is allowed, else why not. Caller holds mu.
func (w *Wizard) backReason() string {
	switch {
	case w.step == StepImage:
		return "this is the first step"
	case w.apply.Phase == ApplyRunning:
		return "wait for apply to finish or cancel it"
	case w.apply.Phase == ApplyDone:
		return "the image has been written; roll back or start over"
	case w.apply.Phase == ApplyRolledBack:
		return "the image was rolled back; start over to prepare it again"
	case w.apply.Phase == ApplyKept:
		return "the change was kept; start over to prepare another image"
	}
	return ""
}

// nextReason is "" when the current step is valid, else why not. Caller holds mu.
func (w *Wizard) nextReason() string {
	if w.step == StepApply {
		return "this is the last step"
	}
	if w.busy != "" {
		return w.busy
	}
	switch w.step {
	case StepImage:
		return w.imageReason()
	case StepGuest:
		return w.guestReason()
	case StepCompat:
		return w.compatReason()
	case StepDrivers:
		return w.driversReason()
	case StepOptions:
		if errs := append(w.opts.Validate(w.imagePath, w.rules()), validateNet(w.net)...); len(errs) > 0 {
			return errs[0].Msg
		}
	}
	return ""
}

// begin marks a load as running and returns its generation and op token.
// Caller holds mu.
func (w *Wizard) begin(what string) (gen, op uint64) {
	w.busyOp++
	w.busy = what
	return w.gen, w.busyOp
}

// end clears busy if op is still the latest load and reports whether gen is
// still current. Caller holds mu.
func (w *Wizard) end(gen, op uint64) bool {
	if w.busyOp == op {
		w.busy = ""
	}
	return w.gen == gen
}
