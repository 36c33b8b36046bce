package ui

import (
	"image/color"
	"log/slog"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// ringGap is how far outside a control its focus ring is drawn: outside, so
// the ring is seen against the page (17:1 in the light theme) and not
// against the control's own fill, where Fyne's focus tint vanishes on a
// blue button.
const ringGap = 3

// ringRenderer adds a focus ring to a widget's own renderer.
type ringRenderer struct {
	fyne.WidgetRenderer
	ring    *canvas.Rectangle
	focused *bool
}

func newRingRenderer(r fyne.WidgetRenderer, focused *bool) *ringRenderer {
	ring := canvas.NewRectangle(color.Transparent)
	ring.StrokeWidth = 2
	ring.CornerRadius = theme.InputRadiusSize() + ringGap
	rr := &ringRenderer{WidgetRenderer: r, ring: ring, focused: focused}
	rr.paint()
	return rr
}

func (r *ringRenderer) Objects() []fyne.CanvasObject {
	in := r.WidgetRenderer.Objects()
	out := make([]fyne.CanvasObject, len(in)+1)
	copy(out, in)
	out[len(in)] = r.ring
	return out
}

func (r *ringRenderer) Layout(size fyne.Size) {
	r.WidgetRenderer.Layout(size)
	r.ring.Move(fyne.NewPos(-ringGap, -ringGap))
	r.ring.Resize(size.AddWidthHeight(2*ringGap, 2*ringGap))
}

func (r *ringRenderer) Refresh() {
	r.WidgetRenderer.Refresh()
	r.paint()
}

func (r *ringRenderer) paint() {
	r.ring.StrokeColor = color.Transparent
	if *r.focused {
		r.ring.StrokeColor = theme.Color(theme.ColorNameForeground)
	}
	r.ring.Refresh()
}

// button is a widget.Button with a visible focus ring, that Enter presses as
// well as Space, so a keyboard user can act on whatever Tab reached.
type button struct {
	widget.Button
	focused bool
}

func newButton(label string, icon fyne.Resource, tapped func()) *button {
	b := &button{}
	b.Text, b.Icon, b.OnTapped = label, icon, tapped
	b.ExtendBaseWidget(b)
	return b
}

func (b *button) CreateRenderer() fyne.WidgetRenderer {
	return newRingRenderer(b.Button.CreateRenderer(), &b.focused)
}

// FocusGained shows the ring instead of Fyne's tint (which would turn a
// primary button's white text grey-on-grey); the debug log records it so
// the real-window walk can see where Tab went.
func (b *button) FocusGained() {
	b.focused = true
	slog.Debug("ui: focus", "button", b.Text)
	b.Refresh()
}

func (b *button) FocusLost() {
	b.focused = false
	b.Refresh()
}

func (b *button) TypedKey(ev *fyne.KeyEvent) {
	switch ev.Name {
	case fyne.KeyReturn, fyne.KeyEnter, fyne.KeySpace:
		if !b.Disabled() {
			b.Tapped(&fyne.PointEvent{})
		}
	case fyne.KeyEscape:
		toWindow(b, ev)
	}
}

// toWindow hands a key a focused control does not use to the window's own
// key handler (Escape is Back), as if nothing had the focus; not while a
// dialog is open, where Escape must not change the step behind it.
func toWindow(o fyne.CanvasObject, ev *fyne.KeyEvent) {
	c := fyne.CurrentApp().Driver().CanvasForObject(o)
	if c == nil || c.Overlays().Top() != nil {
		return
	}
	if h := c.OnTypedKey(); h != nil {
		c.Unfocus()
		h(ev)
	}
}

// check is a widget.Check with a focus ring; Enter on it does the window's
// default action (Next), as in any dialog, and Space ticks it.
type check struct {
	widget.Check
	focused bool
	onEnter func()
}

func newCheck(label string, changed func(bool)) *check {
	c := &check{}
	c.Text, c.OnChanged = label, changed
	c.ExtendBaseWidget(c)
	return c
}

func (c *check) CreateRenderer() fyne.WidgetRenderer {
	return newRingRenderer(c.Check.CreateRenderer(), &c.focused)
}

func (c *check) FocusGained() {
	c.focused = true
	slog.Debug("ui: focus", "check", c.Text)
	c.Check.FocusGained()
}

func (c *check) FocusLost() {
	c.focused = false
	c.Check.FocusLost()
}

func (c *check) TypedKey(ev *fyne.KeyEvent) {
	switch ev.Name {
	case fyne.KeyReturn, fyne.KeyEnter:
		if c.onEnter != nil {
			c.onEnter()
		}
	case fyne.KeyEscape:
		toWindow(c, ev)
	}
}

// tabBar is a row of buttons over a stack showing one page: Fyne's AppTabs
// cannot be reached with Tab, these can.
type tabBar struct {
	buttons []*button
	pages   []fyne.CanvasObject
	current int
	box     fyne.CanvasObject
}

func newTabBar(names []string, pages []fyne.CanvasObject) *tabBar {
	t := &tabBar{pages: pages}
	row := container.NewHBox()
	for i, n := range names {
		b := newButton(n, nil, func() { t.selectTab(i) })
		t.buttons = append(t.buttons, b)
		row.Add(b)
	}
	t.box = container.NewBorder(container.NewVBox(row, widget.NewSeparator()), nil, nil, nil, container.NewStack(pages...))
	t.selectTab(0)
	return t
}

func (t *tabBar) object() fyne.CanvasObject { return t.box }

func (t *tabBar) setLabel(i int, text string) {
	if t.buttons[i].Text != text {
		t.buttons[i].SetText(text)
	}
}

func (t *tabBar) selectTab(i int) {
	t.current = i
	for j, b := range t.buttons {
		imp := widget.LowImportance
		if j == i {
			imp = widget.HighImportance
		}
		if b.Importance != imp {
			b.Importance = imp
			b.Refresh()
		}
		showIf(t.pages[j], j == i)
	}
}
