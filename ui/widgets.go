package ui

import (
	"fmt"
	"image/color"
	"log/slog"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/pvinject/pvinject/wizard"
)

// header is the step indicator: "Step 2 of 6: Guest" over a row of the six
// step names, the current one highlighted and the done ones ticked.
type header struct {
	title  *widget.Label
	crumbs [wizard.NumSteps + 1]*canvas.Text
	box    fyne.CanvasObject
}

func newHeader() *header {
	h := &header{title: widget.NewLabel("")}
	h.title.SizeName = theme.SizeNameHeadingText
	h.title.TextStyle.Bold = true
	app := canvas.NewText("pvinject", theme.Color(theme.ColorNamePrimary))
	app.TextStyle.Bold = true
	row := container.NewHBox()
	for s := wizard.StepImage; s <= wizard.StepApply; s++ {
		t := canvas.NewText("", theme.Color(theme.ColorNameForeground))
		t.TextSize = theme.TextSize()
		h.crumbs[s] = t
		row.Add(t)
		if s < wizard.StepApply {
			sep := canvas.NewText("›", theme.Color(theme.ColorNameDisabled))
			row.Add(sep)
		}
	}
	top := container.NewBorder(nil, nil, nil, app, h.title)
	h.box = container.NewVBox(container.NewPadded(container.NewVBox(top, row)), widget.NewSeparator())
	return h
}

func (h *header) object() fyne.CanvasObject { return h.box }

func (h *header) update(st wizard.State) {
	h.title.SetText(fmt.Sprintf("Step %d of %d: %s", st.Step, wizard.NumSteps, st.Step))
	for s := wizard.StepImage; s <= wizard.StepApply; s++ {
		t := h.crumbs[s]
		t.Text = fmt.Sprintf("%d %s", s, s)
		t.TextStyle.Bold = s == st.Step
		switch {
		case s == st.Step:
			t.Color = theme.Color(theme.ColorNamePrimary)
		case s < st.Step:
			t.Color = theme.Color(theme.ColorNameForeground)
		default:
			t.Color = theme.Color(theme.ColorNameDisabled)
		}
		t.Refresh()
	}
}

// heading is a screen's bold title.
func heading(text string) *widget.Label {
	l := widget.NewLabel(text)
	l.TextStyle.Bold = true
	l.SizeName = theme.SizeNameSubHeadingText
	return l
}

// para is wrapped body text.
func para(text string) *widget.Label {
	l := widget.NewLabel(text)
	l.Wrapping = fyne.TextWrapWord
	return l
}

// dim is wrapped secondary text: italic, since the theme's low-importance
// colour is too faint on the dark theme.
func dim(text string) *widget.Label {
	l := para(text)
	l.TextStyle.Italic = true
	return l
}

// facts lays out name/value pairs as a two-column form.
func facts(pairs ...string) *fyne.Container {
	g := container.New(newFormLayout())
	for i := 0; i+1 < len(pairs); i += 2 {
		k := widget.NewLabel(pairs[i])
		k.TextStyle.Bold = true
		v := widget.NewLabel(pairs[i+1])
		v.Wrapping = fyne.TextWrapWord
		g.Add(k)
		g.Add(v)
	}
	return g
}

// findingRows shows blockers first, each with its icon and remedy.
func findingRows(fs []wizard.Finding) []fyne.CanvasObject {
	var out []fyne.CanvasObject
	for _, want := range []wizard.Severity{wizard.Blocker, wizard.Warning} {
		for _, f := range fs {
			if f.Severity != want {
				continue
			}
			out = append(out, findingRow(f))
		}
	}
	return out
}

func findingRow(f wizard.Finding) fyne.CanvasObject {
	icon := widget.NewIcon(theme.NewWarningThemedResource(theme.WarningIcon()))
	imp := widget.WarningImportance
	prefix := "Warning: "
	if f.Severity == wizard.Blocker {
		icon = widget.NewIcon(theme.NewErrorThemedResource(theme.ErrorIcon()))
		imp = widget.DangerImportance
		prefix = "Blocker: "
	}
	l := widget.NewLabel(prefix + wizard.FindingText(f))
	l.Wrapping = fyne.TextWrapWord
	l.Importance = imp
	slog.Debug("ui: finding shown", "text", l.Text)
	var body fyne.CanvasObject = l
	if f.Details != "" {
		// The raw error, for whoever must dig further; never the message.
		d := widget.NewLabel(f.Details)
		d.Wrapping = fyne.TextWrapWord
		body = container.NewVBox(l, widget.NewAccordion(widget.NewAccordionItem("Details", d)))
	}
	return container.NewBorder(nil, nil, container.NewCenter(icon), nil, body)
}

// card is a titled, padded panel with a light background.
func card(title string, objs ...fyne.CanvasObject) fyne.CanvasObject {
	bg := canvas.NewRectangle(theme.Color(theme.ColorNameInputBackground))
	bg.CornerRadius = theme.InputRadiusSize()
	content := container.NewVBox(objs...)
	if title != "" {
		content.Objects = append([]fyne.CanvasObject{heading(title)}, content.Objects...)
	}
	return container.NewStack(bg, container.NewPadded(content))
}

// spacer is fixed vertical space between sections.
func spacer() fyne.CanvasObject {
	r := canvas.NewRectangle(color.Transparent)
	r.SetMinSize(fyne.NewSize(1, theme.Padding()*2))
	return r
}

func (u *UI) showInfo(title, msg string) {
	dialog.ShowInformation(title, msg, u.win)
}

func (u *UI) showError(err error) {
	dialog.ShowError(err, u.win)
}

// opaque puts o on the theme's background colour.
func opaque(o fyne.CanvasObject) fyne.CanvasObject {
	return container.NewStack(canvas.NewRectangle(theme.Color(theme.ColorNameBackground)), o)
}
