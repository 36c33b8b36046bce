package ui

import (
	"errors"
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/pvinject/pvinject/wizard"
)

var cacheLabels = map[wizard.WriteCache]string{
	wizard.CacheOff:  "Off (safest)",
	wizard.CacheOn:   "On (faster)",
	wizard.CacheKeep: "Keep the guest's setting",
}

var cacheOrder = []wizard.WriteCache{wizard.CacheOff, wizard.CacheOn, wizard.CacheKeep}

const (
	targetNew     = "Write a new image (the original stays untouched)"
	targetInPlace = "Change this image in place (can be rolled back)"
)

// optionsScreen is step 5: NIC MTU, disk write cache, and where to write.
type optionsScreen struct {
	u         *UI
	mtu       *widget.Entry
	mtuErr    *widget.Label
	mtuHelp   *widget.Label
	mtuHost   *widget.Label
	cache     *widget.RadioGroup
	cacheWhy  *widget.Label
	cacheHelp *widget.Label
	cacheHost *widget.Label
	cacheErr  *widget.Label
	target    *widget.RadioGroup
	output    *widget.Entry
	browse    *button
	format    *widget.Select
	outErr    *widget.Label
	outBox    *fyne.Container
	net       *netSection
	box       fyne.CanvasObject
}

func errLabel() *widget.Label {
	l := widget.NewLabel("")
	l.Importance = widget.DangerImportance
	l.Wrapping = fyne.TextWrapWord
	l.Hide()
	return l
}

func newOptionsScreen(u *UI) *optionsScreen {
	s := &optionsScreen{u: u, mtuErr: errLabel(), cacheErr: errLabel(), outErr: errLabel(),
		mtuHelp: para(""), mtuHost: para(""), cacheHelp: para(""), cacheHost: para(""), cacheWhy: para("")}
	s.mtu = widget.NewEntry()
	s.mtu.SetPlaceHolder("empty: keep the guest's MTU")
	s.mtu.OnChanged = func(string) { s.save() }
	s.mtu.OnSubmitted = func(string) { u.goNext() }
	var labels []string
	for _, c := range cacheOrder {
		labels = append(labels, cacheLabels[c])
	}
	s.cache = widget.NewRadioGroup(labels, func(string) { s.save() })
	s.cache.Horizontal = true
	s.cache.Required = true
	s.target = widget.NewRadioGroup([]string{targetNew, targetInPlace}, func(string) { s.save() })
	s.target.Required = true
	s.output = widget.NewEntry()
	s.output.OnChanged = func(string) { s.save() }
	s.output.OnSubmitted = func(string) { u.goNext() }
	s.browse = newButton("Choose…", theme.DocumentSaveIcon(), func() {
		u.picker.SaveFile("Save the new image as", s.output.Text, func(p string, err error) {
			if err != nil {
				if !errors.Is(err, errCancelled) {
					u.showError(err)
				}
				return
			}
			s.output.SetText(p) // OnChanged saves it
			if f := wizard.FormatFromExt(p); f != "" {
				s.format.SetSelected(f)
			}
		})
	})
	s.format = widget.NewSelect(wizard.Formats, func(string) { s.save() })
	mtuRow := container.NewBorder(nil, nil, widget.NewLabel("MTU"), nil, container.NewGridWrap(fyne.NewSize(160, s.mtu.MinSize().Height), s.mtu))
	s.outBox = container.NewVBox(
		container.NewBorder(nil, nil, widget.NewLabel("New image"), s.browse, s.output),
		container.NewBorder(nil, nil, widget.NewLabel("Format"), nil, container.NewGridWrap(fyne.NewSize(160, s.format.MinSize().Height), s.format)),
		s.outErr,
	)
	s.net = newNetSection(u)
	s.box = container.NewVBox(
		heading("Options"),
		card("Network adapter MTU", s.mtuHelp, mtuRow, s.mtuErr, s.mtuHost),
		spacer(),
		card("Disk write cache", s.cacheHelp, s.cache, s.cacheWhy, s.cacheErr, s.cacheHost),
		spacer(),
		card("Where to write", s.target, s.outBox),
		spacer(),
		s.net.object(),
		dim("MTU and write cache are applied by the first-boot runner, since their device keys exist only after Windows has found the new devices."),
	)
	return s
}

func (s *optionsScreen) object() fyne.CanvasObject { return s.box }

// save sends the fields to the wizard, which validates them.
func (s *optionsScreen) save() {
	if s.u.updating {
		return
	}
	o := s.u.wiz.Options()
	o.MTU = s.mtu.Text
	for c, l := range cacheLabels {
		if l == s.cache.Selected {
			o.WriteCache = c
		}
	}
	o.InPlace = s.target.Selected == targetInPlace
	o.Output = s.output.Text
	o.Format = s.format.Selected
	s.u.wiz.SetOptions(o)
}

func (s *optionsScreen) update(st wizard.State) {
	o, r := st.Options, st.Rules
	if s.mtu.Text != o.MTU {
		s.mtu.SetText(o.MTU)
	}
	if l := cacheLabels[o.WriteCache]; s.cache.Selected != l {
		s.cache.SetSelected(l)
	}
	sel := targetNew
	if o.InPlace {
		sel = targetInPlace
	}
	if s.target.Selected != sel {
		s.target.SetSelected(sel)
	}
	if s.output.Text != o.Output {
		s.output.SetText(o.Output)
	}
	if s.format.Selected != o.Format {
		s.format.SetSelected(o.Format)
	}
	if o.InPlace {
		s.outBox.Hide()
	} else {
		s.outBox.Show()
	}
	s.mtuHelp.SetText(fmt.Sprintf("%s Allowed: %d-%d.", r.MTUHelp, r.MTUMin, r.MTUMax))
	s.mtuHost.SetText("Host: " + r.MTUHost)
	s.cacheHelp.SetText(r.CacheHelp)
	s.cacheHost.SetText("Host: " + r.CacheHost)
	why := fmt.Sprintf("Default for these drivers: %s.", cacheLabels[r.WriteCache])
	if r.WriteCacheWhy != "" {
		why += " " + r.WriteCacheWhy
	}
	s.cacheWhy.SetText(why)

	msgs := map[string]string{}
	for _, e := range st.OptionErrors {
		if msgs[e.Field] == "" {
			msgs[e.Field] = e.Msg
		} else {
			msgs[e.Field] += "; " + e.Msg
		}
	}
	showErr(s.mtuErr, msgs[wizard.FieldMTU])
	showErr(s.cacheErr, msgs[wizard.FieldWriteCache])
	out := msgs[wizard.FieldOutput]
	if f := msgs[wizard.FieldFormat]; f != "" {
		out = joinNonEmpty(out, f)
	}
	showErr(s.outErr, out)
	s.net.update(st, msgs[wizard.FieldNetwork])
}

func showErr(l *widget.Label, msg string) {
	if msg == "" {
		l.Hide()
		return
	}
	l.SetText(msg)
	l.Show()
}

func joinNonEmpty(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}
