package ui

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/pvinject/pvinject/wizard"
)

// applyScreen is step 6: review, apply with progress and cancel, then the
// report with open/save/copy, roll back and save-answers buttons.
type applyScreen struct {
	u       *UI
	review  *fyne.Container
	apply   *button
	warn    *widget.Label
	errText *widget.Label
	prog    *widget.ProgressBar
	action  *widget.Label
	cancel  *button
	running *fyne.Container
	verify  *widget.Label
	// accepted lists the warnings the user went on with, kept in sight on
	// the results: green never hides a risk that was consented to.
	accepted *fyne.Container
	report   *widget.Label
	result   *fyne.Container
	over     *button
	roll     *button
	keep     *button
	status   *widget.Label
	shown    *wizard.Report
	box      fyne.CanvasObject
}

func newApplyScreen(u *UI) *applyScreen {
	s := &applyScreen{u: u, review: container.NewVBox(), errText: errLabel(), prog: widget.NewProgressBar(),
		action: widget.NewLabel(""), verify: widget.NewLabel(""), report: widget.NewLabel(""), status: widget.NewLabel("")}
	s.apply = newButton("Apply", theme.ConfirmIcon(), s.start)
	s.apply.Importance = widget.HighImportance
	s.warn = para("")
	s.warn.Importance = widget.WarningImportance
	s.cancel = newButton("Cancel", theme.CancelIcon(), u.wiz.CancelApply)
	s.running = container.NewVBox(s.action, s.prog, container.NewHBox(s.cancel))
	s.verify.TextStyle.Bold = true
	s.verify.Wrapping = fyne.TextWrapWord
	s.report.Wrapping = fyne.TextWrapWord
	s.report.TextStyle.Monospace = true
	s.status.Wrapping = fyne.TextWrapWord
	s.roll = newButton("Roll back…", theme.ContentUndoIcon(), s.rollback)
	s.roll.Importance = widget.DangerImportance
	s.keep = newButton("Keep", theme.ConfirmIcon(), func() {
		u.run("keep", func(ctx context.Context) error { return u.wiz.Keep(ctx) })
	})
	s.over = newButton("Start over", theme.HomeIcon(), func() {
		if err := u.wiz.StartOver(); err == nil && u.wiz.State().ImagePath != "" {
			u.openImage(u.wiz.State().ImagePath)
		}
	})
	buttons := container.NewHBox(
		newButton("Open report", theme.FileTextIcon(), s.openReport),
		newButton("Save report…", theme.DocumentSaveIcon(), s.saveReport),
		newButton("Copy report", theme.ContentCopyIcon(), s.copyReport),
		newButton("Save answers…", theme.DocumentSaveIcon(), s.saveAnswers),
		s.roll,
		s.keep,
	)
	buttons.Add(s.over)
	s.accepted = container.NewVBox()
	s.result = container.NewVBox(s.verify, s.accepted, s.status, buttons, card("Report", s.report))
	s.box = container.NewVBox(
		heading("Apply and results"),
		s.review,
		s.warn,
		container.NewHBox(s.apply),
		s.errText,
		s.running,
		s.result,
	)
	return s
}

func (s *applyScreen) object() fyne.CanvasObject { return s.box }

func (s *applyScreen) start() {
	s.u.run("apply", s.u.wiz.Apply)
}

func (s *applyScreen) update(st wizard.State) {
	a := st.Apply
	idle := a.Phase == wizard.ApplyIdle || a.Phase == wizard.ApplyFailed || a.Phase == wizard.ApplyCancelled
	s.review.Objects = nil
	if idle {
		s.review.Objects = []fyne.CanvasObject{card("Ready to write", reviewFacts(st))}
	}
	s.review.Refresh()
	showIf(s.apply, idle)
	setEnabled(s.apply, st.CanApply)
	s.warn.SetText("")
	switch {
	case !idle:
	case !st.CanApply:
		s.warn.SetText("Apply is not possible yet: " + st.ApplyReason)
	case st.Options.InPlace:
		s.warn.SetText("This changes " + st.ImagePath + " itself. Shut the VM down first; pvinject keeps a journal so you can roll back.")
	default:
		s.warn.SetText("The original image is only read; the new image is written to " + st.Options.Output + ".")
	}
	showIf(s.warn, s.warn.Text != "")
	if a.Err != nil && idle {
		s.errText.SetText(a.Err.Error())
		if a.Phase == wizard.ApplyCancelled {
			s.errText.SetText("Cancelled. Nothing was changed; the image is as it was. You can apply again.")
		}
		s.errText.Show()
	} else {
		s.errText.Hide()
	}

	showIf(s.running, a.Phase == wizard.ApplyRunning)
	s.action.SetText(a.Action)
	s.prog.SetValue(a.Frac)
	setEnabled(s.cancel, a.Phase == wizard.ApplyRunning && a.Report == nil)
	showIf(s.cancel, a.Report == nil)

	showIf(s.result, a.Report != nil || a.Phase == wizard.ApplyRolledBack)
	setEnabled(s.roll, a.Phase == wizard.ApplyDone)
	setEnabled(s.keep, a.Phase == wizard.ApplyDone)
	// A new image has no rollback record to keep; its undo is deleting it.
	showIf(s.keep, a.Report == nil || a.Report.InPlace)
	s.status.SetText(a.Action)
	if a.Phase == wizard.ApplyDone && a.Report != nil {
		// The boot check's verdict comes first, in words; "Done" only when
		// Windows will boot.
		msg := a.Report.DoneText()
		if a.Report.JournalPath != "" {
			msg += " The rollback record " + a.Report.JournalPath + " stays beside the image so you can undo the change: press Keep once the VM boots to delete it, or Roll back to restore the image."
		}
		s.status.SetText(msg)
	}
	if a.Report == nil && s.shown != nil {
		// Rolled back: nothing of the result is current any more.
		s.shown = nil
		s.verify.SetText("")
		s.report.SetText("")
	}
	if a.Report != nil && a.Report != s.shown {
		s.shown = a.Report
		r := a.Report
		switch {
		case r.Verify.OK && !r.Boots():
			// Written and read back, but not green: the boot check comes first.
			s.verify.SetText(fmt.Sprintf("✗ Windows will NOT boot as it is (all %d changes were read back from %s).", r.Verify.Checked, r.Image))
			s.verify.Importance = widget.DangerImportance
		case r.Verify.OK:
			s.verify.SetText(fmt.Sprintf("✓ Verified: all %d changes were read back from %s.", r.Verify.Checked, r.Image))
			s.verify.Importance = widget.SuccessImportance
		default:
			s.verify.SetText("✗ Verification found problems: " + strings.Join(r.Verify.Problems, "; "))
			s.verify.Importance = widget.DangerImportance
		}
		s.verify.Refresh()
		s.accepted.Objects = nil
		var warn []wizard.Finding
		for _, f := range r.Findings {
			if f.Severity == wizard.Warning {
				warn = append(warn, f)
			}
		}
		if len(warn) > 0 {
			s.accepted.Add(card("Warnings you accepted", findingRows(warn)...))
		}
		s.accepted.Refresh()
		s.report.SetText(wizard.ReportText(*r))
		slog.Debug("ui: report shown", "verified", r.Verify.OK, "image", r.Image, "saved", r.ReportPath, "text", s.report.Text)
	}
}

func showIf(o fyne.CanvasObject, on bool) {
	if on && !o.Visible() {
		o.Show()
	} else if !on && o.Visible() {
		o.Hide()
	}
}

func reviewFacts(st wizard.State) fyne.CanvasObject {
	target := st.Options.Output + " (" + strings.ToUpper(st.Options.Format) + ")"
	if st.Options.InPlace {
		target = "in place: " + st.ImagePath
	}
	guest := "—"
	if st.Guest >= 0 && st.Guest < len(st.Guests) {
		guest = st.Guests[st.Guest].Title()
	}
	plan := "—"
	drivers := st.Request.Path
	if p := st.Plan; p != nil {
		plan = fmt.Sprintf("%d packages, %d files, %d registry changes", len(p.Packages), len(p.Files), len(p.Registry))
		drivers = fmt.Sprintf("%s %s from %s", p.DriverSet, p.Version, st.Request.Path)
	}
	mtu := "keep the guest's MTU"
	if strings.TrimSpace(st.Options.MTU) != "" {
		mtu = strings.TrimSpace(st.Options.MTU)
	}
	kv := []string{
		"Image", st.ImagePath,
		"Windows", guest,
		"Drivers", drivers,
		"Plan", plan,
		"MTU", mtu,
		"Write cache", cacheLabels[st.Options.WriteCache],
		"Write to", target,
	}
	if p := st.Plan; p != nil {
		// Risks accepted and packages left out stay in view up to the end.
		for _, c := range p.Consents {
			kv = append(kv, "Accepted risk", c)
		}
		if len(p.Unused) > 0 {
			kv = append(kv, "Not used", strings.Join(p.Unused, "; "))
		}
	}
	return facts(kv...)
}

func (s *applyScreen) reportText() (string, *wizard.Report) {
	r := s.u.wiz.State().Apply.Report
	if r == nil {
		return "", nil
	}
	return wizard.ReportText(*r), r
}

func (s *applyScreen) openReport() {
	text, r := s.reportText()
	if r == nil {
		return
	}
	path := r.ReportPath
	if _, err := os.Stat(path); path == "" || err != nil {
		f, err := os.CreateTemp("", "pvinject-report-*.txt")
		if err != nil {
			s.u.showError(fmt.Errorf("open report: %w", err))
			return
		}
		_, werr := f.WriteString(text)
		cerr := f.Close()
		if err := errors.Join(werr, cerr); err != nil {
			s.u.showError(fmt.Errorf("open report: %s: %w", f.Name(), err))
			return
		}
		path = f.Name()
	}
	s.u.openPath(path)
}

// openPath opens a file (a report) with the desktop's viewer.
func (u *UI) openPath(path string) {
	link, _ := url.Parse(storage.NewFileURI(path).String())
	if err := fyne.CurrentApp().OpenURL(link); err != nil {
		u.showError(fmt.Errorf("open report %s: %w", path, err))
	}
}

func (s *applyScreen) saveReport() {
	text, r := s.reportText()
	if r == nil {
		return
	}
	name := strings.TrimSuffix(r.Image, filepath.Ext(r.Image)) + "-pvinject-report.txt"
	s.u.picker.SaveFile("Save the report as", name, func(path string, err error) {
		if err == nil {
			err = os.WriteFile(path, []byte(text), 0o644)
			if err != nil {
				err = fmt.Errorf("save report: %w", err)
			}
		}
		if err != nil && !errors.Is(err, errCancelled) {
			s.u.showError(err)
		}
	})
}

func (s *applyScreen) copyReport() {
	if text, r := s.reportText(); r != nil {
		fyne.CurrentApp().Clipboard().SetContent(text)
		s.status.SetText("The report is on the clipboard.")
	}
}

func (s *applyScreen) saveAnswers() {
	a, err := s.u.wiz.Answers()
	if err != nil {
		s.u.showError(err)
		return
	}
	name := filepath.Join(filepath.Dir(s.u.wiz.State().ImagePath), "pvinject-answers.json")
	s.u.picker.SaveFile("Save the choices as an answer file", name, func(path string, err error) {
		if err == nil {
			err = wizard.SaveAnswers(path, a)
		}
		if err != nil && !errors.Is(err, errCancelled) {
			s.u.showError(err)
			return
		}
		if err == nil {
			s.status.SetText("Answers saved to " + path + ". pvinject's batch mode prepares more images with them (see the README).")
		}
	})
}

func (s *applyScreen) rollback() {
	st := s.u.wiz.State()
	if st.Apply.Report == nil {
		return
	}
	s.u.confirm("Roll back?", "Restore "+st.Apply.Report.Image+" to how it was before Apply?", "Yes", func(ok bool) {
		if ok {
			s.u.run("rollback", func(ctx context.Context) error { return s.u.wiz.Rollback(ctx) })
		}
	})
}
