package ui

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/pvinject/pvinject/wizard"
)

// driversScreen is step 4: the driver source, the packages picked and why,
// unsigned-driver consent, and the full plan before anything is written.
type driversScreen struct {
	u        *UI
	source   *widget.RadioGroup
	path     *widget.Entry
	read     *button
	file     *button
	folder   *button
	verdict  *widget.Label
	consent  *check
	unsigned *widget.Label
	summary  *widget.Label
	findings *fyne.Container
	tabs     *tabBar
	pkgs     *dataTable
	files    *dataTable
	reg      *dataTable
	boot     *widget.Label
	plan     *fyne.Container
	shown    *wizard.PlanSummary
	box      fyne.CanvasObject
}

func newDriversScreen(u *UI) *driversScreen {
	s := &driversScreen{u: u}
	var labels []string
	for _, set := range wizard.Sets {
		labels = append(labels, set.Label())
	}
	s.source = widget.NewRadioGroup(labels, func(sel string) {
		if u.updating {
			return
		}
		for _, set := range wizard.Sets {
			if set.Label() == sel {
				s.apply(set, s.path.Text)
			}
		}
	})
	s.source.Required = true
	s.path = widget.NewEntry()
	s.path.SetPlaceHolder("Folder, ISO or installer with the drivers")
	s.path.OnSubmitted = func(p string) { s.setPath(p) }
	s.read = newButton("Read", theme.ViewRefreshIcon(), func() { s.setPath(s.path.Text) })
	s.file = newButton("Choose ISO or file…", theme.FileIcon(), func() {
		u.picker.OpenFile("Choose the driver ISO or installer", []Filter{isoFilter}, s.picked)
	})
	s.folder = newButton("Choose folder…", theme.FolderOpenIcon(), func() {
		u.picker.OpenFolder("Choose the driver folder", s.picked)
	})
	s.verdict = widget.NewLabel("")
	s.verdict.Wrapping = fyne.TextWrapWord
	s.consent = newCheck("Allow unsigned drivers: I understand 64-bit Windows will not load them unless test signing is on", func(on bool) {
		if u.updating {
			return
		}
		u.wiz.SetAllowUnsigned(on)
		u.run("plan", u.wiz.Plan)
	})
	s.unsigned = widget.NewLabel("")
	s.unsigned.Wrapping = fyne.TextWrapWord
	s.unsigned.Importance = widget.WarningImportance
	s.summary = widget.NewLabel("")
	s.summary.TextStyle.Bold = true
	s.findings = container.NewVBox()
	s.pkgs = newDataTable([]string{"Package", "Version", "Arch", "Signed", "Installed", "Why"},
		[]float32{140, 240, 80, 70, 110, 520}, 280)
	s.files = newDataTable([]string{"Action", "Guest path", "Size", "Why"}, []float32{80, 430, 90, 320}, 220)
	s.reg = newDataTable([]string{"Action", "Key", "Value", "Type", "Old", "New"}, []float32{90, 360, 130, 120, 100, 220}, 220)
	s.boot = para("")
	s.tabs = newTabBar([]string{"Packages", "Files", "Registry", "First boot"},
		[]fyne.CanvasObject{s.pkgs.object(), s.files.object(), s.reg.object(), s.boot})
	s.consent.onEnter = u.defaultAction
	s.plan = container.NewVBox(s.summary, s.unsigned, s.consent, s.findings, s.tabs.object())
	answers := newButton("Use an answer file…", theme.DocumentIcon(), s.useAnswers)
	answers.Importance = widget.LowImportance
	pathRow := container.NewBorder(nil, nil, nil, container.NewHBox(s.read, s.file, s.folder), s.path)
	s.box = container.NewVBox(
		heading("Where are the drivers?"),
		dim("pvinject reads the source, picks the packages for this Windows and shows every change before anything is written."),
		container.NewBorder(nil, nil, nil, container.NewVBox(answers), s.source),
		pathRow,
		s.verdict,
		s.plan,
	)
	return s
}

func (s *driversScreen) object() fyne.CanvasObject { return s.box }

// focusFirst puts the cursor in the path field when no source is chosen
// yet, so the path can be typed (or pasted) at once.
func (s *driversScreen) focusFirst(st wizard.State) {
	if st.Request.Path == "" {
		if c := s.u.win.Canvas(); c != nil {
			c.Focus(s.path)
		}
	}
}

// useAnswers takes the source and options from a saved answer file.
func (s *driversScreen) useAnswers() {
	s.u.picker.OpenFile("Use choices saved from an earlier run", []Filter{answerFilter}, func(path string, err error) {
		if err == nil {
			var a wizard.Answers
			if a, err = wizard.LoadAnswers(path); err == nil {
				err = s.u.wiz.UseAnswers(a)
			}
		}
		if err != nil {
			if !errors.Is(err, errCancelled) {
				s.u.showError(err)
			}
			return
		}
		s.u.run("plan", s.u.wiz.Load)
	})
}

func (s *driversScreen) picked(path string, err error) {
	if err != nil {
		if !errors.Is(err, errCancelled) {
			s.u.showError(err)
		}
		return
	}
	s.setPath(path)
}

// setPath takes a typed, chosen or dropped driver path and plans it.
func (s *driversScreen) setPath(path string) {
	s.path.SetText(path)
	set := s.u.wiz.State().Request.Set
	if set == "" {
		set = wizard.SetAuto
	}
	s.apply(set, path)
}

func (s *driversScreen) apply(set wizard.Set, path string) {
	if err := s.u.wiz.SetDriverSource(set, strings.TrimSpace(path)); err != nil {
		s.u.showError(err)
		return
	}
	s.u.run("plan", func(ctx context.Context) error { return s.u.wiz.Load(ctx) })
}

func (s *driversScreen) update(st wizard.State) {
	sel := ""
	if st.Request.Set.Valid() && st.Request.Set != wizard.SetAuto {
		sel = st.Request.Set.Label()
	}
	if s.source.Selected != sel {
		s.source.SetSelected(sel)
	}
	if s.path.Text != st.Request.Path && s.u.win.Canvas().Focused() != fyne.Focusable(s.path) {
		s.path.SetText(st.Request.Path)
	}
	s.updateVerdict(st)

	p := st.Plan
	if p == nil {
		s.shown = nil
		s.plan.Hide()
		if st.PlanErr != nil {
			s.verdict.SetText("Could not read the drivers: " + st.PlanErr.Error())
			s.verdict.Importance = widget.DangerImportance
			s.verdict.Refresh()
		}
		return
	}
	s.plan.Show()
	s.consent.Checked = st.Request.AllowUnsigned
	s.consent.Refresh()
	if p.NeedsUnsignedConsent {
		s.unsigned.SetText(fmt.Sprintf("Unsigned on this 64-bit Windows: %s. Windows refuses to load unsigned drivers unless test signing is on (bcdedit /set testsigning on); the boot disk driver must be signed or the guest will not boot.",
			strings.Join(p.Unsigned, ", ")))
		s.unsigned.Show()
		s.consent.Show()
	} else {
		s.unsigned.Hide()
		s.consent.Hide()
	}
	if p == s.shown {
		return
	}
	s.shown = p
	slog.Debug("ui: plan shown", "packages", len(p.Packages), "unsigned", strings.Join(p.Unsigned, ","), "consent", p.NeedsUnsignedConsent)
	summary := fmt.Sprintf("Plan: %d packages from %s; %d files and %d registry changes. Review them below.",
		len(p.Packages), strings.TrimSpace(p.DriverSet+" "+p.Version), len(p.Files), len(p.Registry))
	if len(p.Unused) > 0 {
		summary += "\nFound in the source but not used:\n• " + strings.Join(p.Unused, "\n• ")
	}
	s.summary.SetText(summary)
	s.findings.Objects = findingRows(p.Findings)
	s.findings.Refresh()
	s.pkgs.setRows(packageRows(p.Packages))
	s.files.setRows(fileRows(p.Files))
	s.reg.setRows(regRows(p.Registry))
	s.tabs.setLabel(0, fmt.Sprintf("Packages (%d)", len(p.Packages)))
	s.tabs.setLabel(1, fmt.Sprintf("Files (%d)", len(p.Files)))
	s.tabs.setLabel(2, fmt.Sprintf("Registry (%d)", len(p.Registry)))
	s.boot.SetText("At the first start, before anyone logs on:\n• " + strings.Join(p.FirstBoot, "\n• "))
}

func (s *driversScreen) updateVerdict(st wizard.State) {
	s.verdict.Importance = widget.MediumImportance
	text := ""
	for _, v := range st.Verdicts {
		if wizard.Set(v.Family) != st.Request.Set {
			continue
		}
		switch v.Verdict {
		case wizard.Supported:
			text, s.verdict.Importance = "✓ "+v.Title+" supports this Windows.", widget.SuccessImportance
		case wizard.SupportedWarnings:
			text, s.verdict.Importance = "! "+v.Title+" supports this Windows, with warnings (step 3).", widget.WarningImportance
		default:
			text, s.verdict.Importance = "✗ "+v.Title+" does not support this Windows (step 3).", widget.DangerImportance
		}
	}
	s.verdict.Text = text
	s.verdict.Refresh()
}

func packageRows(ps []wizard.PackagePick) [][]string {
	rows := make([][]string, 0, len(ps))
	for _, p := range ps {
		signed, how := "yes", "at first boot"
		if !p.Signed {
			signed = "NO"
		}
		if p.BootCritical {
			how = "offline now"
		}
		rows = append(rows, []string{p.Name, p.Version, p.Arch, signed, how, p.Reason})
	}
	return rows
}

func fileRows(fs []wizard.FileChange) [][]string {
	rows := make([][]string, 0, len(fs))
	for _, f := range fs {
		rows = append(rows, []string{f.Action, f.Path, wizard.HumanBytes(f.Size), f.Reason})
	}
	return rows
}

func regRows(rs []wizard.RegChange) [][]string {
	rows := make([][]string, 0, len(rs))
	for _, r := range rs {
		old := r.OldText()
		if r.Action == "create-key" {
			old = ""
		}
		rows = append(rows, []string{r.Action, r.Key, r.Value, r.Type, old, r.New})
	}
	return rows
}
