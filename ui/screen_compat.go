package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/pvinject/pvinject/wizard"
)

// compatScreen is step 3: the matrix verdict per driver set, and the
// blockers that stop here with what to do about them.
type compatScreen struct {
	u       *UI
	list    *fyne.Container
	shownV  []wizard.Verdict
	shownF  []wizard.Finding
	shownOK bool
	box     fyne.CanvasObject
}

func newCompatScreen(u *UI) *compatScreen {
	s := &compatScreen{u: u, list: container.NewVBox()}
	s.box = container.NewVBox(
		heading("Can these drivers run on this Windows?"),
		dim("Each verdict comes from the driver set's own support matrix; the source is named after each reason."),
		s.list,
	)
	return s
}

func (s *compatScreen) object() fyne.CanvasObject { return s.box }

func (s *compatScreen) update(st wizard.State) {
	if s.shownOK == st.CompatLoaded && sameSlice(s.shownV, st.Verdicts) && sameSlice(s.shownF, st.CompatFindings) && st.CompatErr == nil {
		return
	}
	s.shownOK, s.shownV, s.shownF = st.CompatLoaded, st.Verdicts, st.CompatFindings
	s.list.Objects = nil
	if st.CompatErr != nil {
		s.list.Add(findingRow(wizard.Finding{Severity: "blocker", Message: st.CompatErr.Error()}))
	}
	if b := wizard.Blockers(st.CompatFindings); len(b) > 0 {
		s.list.Add(card("Stop: fix this first", findingRows(b)...))
		s.list.Add(spacer())
	}
	for _, v := range st.Verdicts {
		s.list.Add(verdictCard(v))
		s.list.Add(spacer())
	}
	var warn []wizard.Finding
	for _, f := range st.CompatFindings {
		if f.Severity != "blocker" {
			warn = append(warn, f)
		}
	}
	if len(warn) > 0 {
		s.list.Add(card("Good to know", findingRows(warn)...))
	}
	s.list.Refresh()
}

func sameSlice[T any](a, b []T) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

func verdictCard(v wizard.Verdict) fyne.CanvasObject {
	var icon fyne.Resource
	var label string
	imp := widget.SuccessImportance
	switch v.Verdict {
	case wizard.Supported:
		icon, label = theme.NewSuccessThemedResource(theme.ConfirmIcon()), "Supported"
	case wizard.SupportedWarnings:
		icon, label = theme.NewWarningThemedResource(theme.WarningIcon()), "Supported, with warnings"
		imp = widget.WarningImportance
	default:
		icon, label = theme.NewErrorThemedResource(theme.CancelIcon()), "Not supported"
		imp = widget.DangerImportance
	}
	verdict := widget.NewLabel(label)
	verdict.Importance = imp
	verdict.TextStyle.Bold = true
	verdict.SizeName = theme.SizeNameSubHeadingText
	title := heading(v.Title)
	top := container.NewHBox(widget.NewIcon(icon), title, verdict)
	rows := []fyne.CanvasObject{top}
	for _, r := range v.Reasons {
		text := "• " + r.Text
		if r.Source != "" {
			text += "  (" + r.Source + ")"
		}
		rows = append(rows, para(text))
	}
	return card("", rows...)
}
