package wizard

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// applyReason is "" when Apply may run, else why not. Caller holds mu.
func (w *Wizard) applyReason() string {
	switch {
	case w.step != StepApply:
		return "apply is the last step"
	case w.apply.Phase == ApplyRunning:
		return "already applying"
	case w.apply.Phase == ApplyDone:
		return "already applied"
	case w.apply.Phase == ApplyRolledBack:
		return "rolled back; start over to prepare the image again"
	case w.apply.Phase == ApplyKept:
		return "already applied and kept"
	case w.plan == nil || !w.reviewed:
		return "review the plan on the Drivers step first"
	}
	for s := StepImage; s < StepApply; s++ {
		saved := w.step
		w.step = s
		r := w.nextReason()
		w.step = saved
		if r != "" {
			return fmt.Sprintf("step %d (%s): %s", s, s, r)
		}
	}
	return ""
}

// request builds the ApplyRequest from the current choices. Caller holds mu
// and has checked applyReason.
func (w *Wizard) request() ApplyRequest {
	mtu, _ := ParseMTU(w.opts.MTU, w.rules())
	r := ApplyRequest{PlanID: w.plan.ID, Drivers: w.req, InPlace: w.opts.InPlace, MTU: mtu, WriteCache: w.opts.WriteCache,
		KeepIP: "off", IPs: netSpecs(w.net)}
	if !r.InPlace {
		r.Output, r.Format = w.opts.Output, w.opts.Format
	}
	return r
}

// Request returns the ApplyRequest Apply would send, or why it cannot run.
func (w *Wizard) Request() (ApplyRequest, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if r := w.applyReason(); r != "" {
		return ApplyRequest{}, notAllowed(r)
	}
	return w.request(), nil
}

// Apply writes the reviewed plan: the only wizard call that changes an image.
// It blocks until the engine returns; CancelApply (or cancelling ctx) stops it
// and the engine leaves the image as it was. Progress goes to the state and
// the change listener.
func (w *Wizard) Apply(ctx context.Context) error {
	w.mu.Lock()
	if r := w.applyReason(); r != "" {
		w.mu.Unlock()
		return notAllowed(r)
	}
	req := w.request()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w.cancelApply = cancel
	done := make(chan struct{})
	w.applyDone = done
	defer close(done)
	w.apply = ApplyStatus{Phase: ApplyRunning, Action: "Starting…"}
	w.unlockNotify()

	rep, err := w.eng.Apply(ctx, req, func(frac float64, action string) {
		w.mu.Lock()
		if w.apply.Phase != ApplyRunning {
			w.mu.Unlock()
			return
		}
		w.apply.Frac = min(max(frac, 0), 1)
		if action != "" {
			w.apply.Action = action
		}
		w.unlockNotify()
	})

	w.mu.Lock()
	w.cancelApply = nil
	switch {
	case err == nil:
		w.apply = ApplyStatus{Phase: ApplyDone, Frac: 1, Action: "Done", Report: &rep}
	case errors.Is(err, context.Canceled) || ctx.Err() != nil:
		err = fmt.Errorf("apply to %s cancelled: %w", w.imagePath, context.Canceled)
		w.apply = ApplyStatus{Phase: ApplyCancelled, Action: "Cancelled; the image was left as it was", Err: err}
	default:
		err = fmt.Errorf("apply to %s: %w", w.imagePath, err)
		w.apply = ApplyStatus{Phase: ApplyFailed, Action: "Failed", Err: err}
	}
	w.unlockNotify()
	return err
}

// CancelApply asks a running Apply to stop; it returns at once and Apply
// returns when the engine has restored the image.
func (w *Wizard) CancelApply() {
	w.mu.Lock()
	cancel := w.cancelApply
	if cancel != nil {
		w.apply.Action = "Cancelling…"
	}
	w.unlockNotify()
	if cancel != nil {
		cancel()
	}
}

// Rollback undoes a finished Apply. Afterwards nothing of its result is
// shown as current: the report, its verification and where it was written
// are cleared, only what happened stays in Action.
func (w *Wizard) Rollback(ctx context.Context) error {
	w.mu.Lock()
	if w.apply.Phase != ApplyDone || w.apply.Report == nil {
		w.mu.Unlock()
		return notAllowed("nothing to roll back")
	}
	done := w.apply
	target := done.Report.Image
	w.apply.Action = "Rolling back…"
	w.apply.Phase = ApplyRunning
	w.unlockNotify()

	err := w.eng.Rollback(ctx, target)

	w.mu.Lock()
	if err != nil {
		err = fmt.Errorf("roll back %s: %w", target, err)
		w.apply = done
		w.apply.Action = "Roll back failed: " + err.Error()
	} else {
		msg := "Rolled back: " + target + " is as it was before"
		if !done.Report.InPlace {
			// A new image's undo is deleting it; its source was never touched.
			msg = "Rolled back: the new image " + target + " was deleted; " + done.Report.Source + " was never changed"
		}
		w.apply = ApplyStatus{Phase: ApplyRolledBack, Action: msg}
	}
	w.unlockNotify()
	return err
}

// Keep makes a finished Apply final: the engine deletes the rollback record
// kept beside the image; the report stays.
func (w *Wizard) Keep(ctx context.Context) error {
	w.mu.Lock()
	if w.apply.Phase != ApplyDone || w.apply.Report == nil {
		w.mu.Unlock()
		return notAllowed("nothing to keep")
	}
	target := w.apply.Report.Image
	w.unlockNotify()

	err := w.eng.Accept(ctx, target)

	w.mu.Lock()
	if err != nil {
		err = fmt.Errorf("keep the change to %s: %w", target, err)
		w.apply.Action = "Keeping the change failed: " + err.Error()
	} else {
		w.apply.Phase = ApplyKept
		w.apply.Action = "Kept: the rollback record beside " + target + " was deleted"
	}
	w.unlockNotify()
	return err
}

// Journal is the rollback record an earlier run left beside the open image
// (step 1), nil when there is none.
func (w *Wizard) Journal() *JournalInfo {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.image == nil {
		return nil
	}
	return w.image.Journal
}

// RollbackImage restores the open image from the rollback record an earlier
// run left beside it (step 1), then opens it again.
func (w *Wizard) RollbackImage(ctx context.Context) error {
	return w.resolveJournal(ctx, "roll back", w.eng.Rollback)
}

// KeepImage keeps an earlier run's changes to the open image (step 1): its
// rollback record is deleted; then the image is opened again.
func (w *Wizard) KeepImage(ctx context.Context) error {
	return w.resolveJournal(ctx, "keep the changes to", w.eng.Accept)
}

func (w *Wizard) resolveJournal(ctx context.Context, what string, op func(context.Context, string) error) error {
	w.mu.Lock()
	if w.apply.Phase == ApplyRunning {
		w.mu.Unlock()
		return notAllowed("wait for apply to finish or cancel it")
	}
	if w.image == nil || w.image.Journal == nil {
		w.mu.Unlock()
		return notAllowed("this image has no rollback record")
	}
	path := w.imagePath
	w.mu.Unlock()
	if err := op(ctx, path); err != nil {
		return fmt.Errorf("%s %s: %w", what, path, err)
	}
	return w.OpenImage(ctx, path)
}

// Stop is for quitting: it cancels a running Apply and waits, at most
// timeout, for the engine to bring the image to a consistent point (rolled
// back, or written and verified if it finished first). It returns what was
// left, for the last message before the window closes; "" when nothing ran.
func (w *Wizard) Stop(timeout time.Duration) string {
	w.mu.Lock()
	cancel, done := w.cancelApply, w.applyDone
	path := w.imagePath
	w.mu.Unlock()
	if cancel == nil || done == nil {
		return ""
	}
	cancel()
	select {
	case <-done:
	case <-time.After(timeout):
		return "pvinject was still undoing its changes to " + path + " when it quit. Open the image in pvinject again: it will offer to roll back."
	}
	st := w.State().Apply
	switch st.Phase {
	case ApplyDone:
		return "The drivers had already been written and verified when you quit; " + path + " keeps them until you roll back or keep the change."
	case ApplyCancelled:
		return "Stopped: " + path + " was left as it was before."
	default:
		msg := "Stopped, but undoing the changes failed"
		if st.Err != nil {
			msg += ": " + st.Err.Error()
		}
		return msg + ". Open the image in pvinject again: it will offer to roll back."
	}
}

// Answers returns the current choices as an answer file for
// `pvinject inject --answers` and `pvinject batch`.
func (w *Wizard) Answers() (Answers, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	mtu, err := ParseMTU(w.opts.MTU, w.rules())
	if err != nil {
		return Answers{}, err
	}
	a := Answers{
		Version: AnswersVersion, Drivers: w.req.Path, Set: w.req.Set, InPlace: w.opts.InPlace,
		MTU: mtu, WriteCache: w.opts.WriteCache, AllowUnsigned: w.req.AllowUnsigned,
	}
	if !a.InPlace {
		a.Output, a.Format = w.opts.Output, w.opts.Format
	}
	a.KeepIP, a.Adapters = w.netAnswers()
	return a, a.Validate()
}

// UseAnswers pre-fills the Drivers and Options steps from an answer file
// now; Prefill does it for every guest chosen later.
func (w *Wizard) UseAnswers(a Answers) error {
	if err := a.Validate(); err != nil {
		return err
	}
	if err := w.SetDriverSource(a.Set, a.Drivers); err != nil {
		return err
	}
	w.SetAllowUnsigned(a.AllowUnsigned)
	w.mu.Lock()
	w.opts = a.options(w.imagePath, w.opts)
	w.cacheTouched = a.WriteCache != ""
	w.unlockNotify()
	return nil
}

// Prefill makes the answer file choose the driver source as soon as the
// compatibility check has run, and the options once the plan is built, for
// this and every later image; the user can still change them.
func (w *Wizard) Prefill(a Answers) error {
	if err := a.Validate(); err != nil {
		return err
	}
	w.mu.Lock()
	w.prefill = &a
	w.mu.Unlock()
	return nil
}

// options applies a's choices to o for the image at path.
func (a Answers) options(path string, o Options) Options {
	o.InPlace = a.InPlace
	if a.WriteCache != "" {
		o.WriteCache = a.WriteCache
	}
	o.MTU = ""
	if a.MTU != 0 {
		o.MTU = fmt.Sprint(a.MTU)
	}
	if !a.InPlace {
		o.Output = a.OutputFor(path)
		if a.Format != "" {
			o.Format = a.Format
		} else if f := FormatFromExt(o.Output); f != "" {
			o.Format = f
		}
	}
	return o
}
