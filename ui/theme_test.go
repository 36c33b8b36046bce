package ui

import (
	"fmt"
	"image/color"
	"math"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
)

// luminance is WCAG 2.1's relative luminance of an opaque colour.
func luminance(c color.Color) float64 {
	r, g, b, _ := color.NRGBAModel.Convert(c).(color.NRGBA).RGBA()
	lin := func(v uint32) float64 {
		s := float64(v>>8) / 255
		if s <= 0.04045 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(r) + 0.7152*lin(g) + 0.0722*lin(b)
}

// contrast is WCAG 2.1's contrast ratio of two opaque colours.
func contrast(a, b color.Color) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// over composites c (possibly translucent) on the opaque base, as the
// screen shows it.
func over(c, base color.Color) color.Color {
	f := color.NRGBAModel.Convert(c).(color.NRGBA)
	b := color.NRGBAModel.Convert(base).(color.NRGBA)
	a := float64(f.A) / 255
	mix := func(x, y uint8) uint8 { return uint8(math.Round(float64(x)*a + float64(y)*(1-a))) }
	return color.NRGBA{R: mix(f.R, b.R), G: mix(f.G, b.G), B: mix(f.B, b.B), A: 0xff}
}

// TestThemeContrast computes, for both variants, the contrast of every
// pairing of the theme's colours that the wizard draws: text needs 4.5:1
// and the parts of controls that carry their state 3:1 (WCAG 2.1 AA,
// success criteria 1.4.3 and 1.4.11). It fails if a colour is changed to
// one that does not meet them, and prints the ratios for the record.
func TestThemeContrast(t *testing.T) {
	th := newAppTheme()
	type pair struct {
		what   string
		fg, bg fyne.ThemeColorName
		onBase fyne.ThemeColorName // fg or bg is translucent over this, if set
		min    float64
	}
	const text, ui = 4.5, 3.0
	n := func(s fyne.ThemeColorName) fyne.ThemeColorName { return s }
	pairs := []pair{
		{"body text", theme.ColorNameForeground, theme.ColorNameBackground, "", text},
		{"text in a card or entry", theme.ColorNameForeground, theme.ColorNameInputBackground, "", text},
		{"button text", theme.ColorNameForeground, theme.ColorNameButton, "", text},
		{"button text, hovered", theme.ColorNameForeground, theme.ColorNameHover, theme.ColorNameButton, text},
		{"focused button or radio text", theme.ColorNameForeground, theme.ColorNameFocus, "", text},
		{"table header text", theme.ColorNameForeground, theme.ColorNameHeaderBackground, "", text},
		{"menu text", theme.ColorNameForeground, theme.ColorNameMenuBackground, "", text},
		{"dialog text", theme.ColorNameForeground, theme.ColorNameOverlayBackground, "", text},
		{"selected text", theme.ColorNameForeground, theme.ColorNameSelection, theme.ColorNameBackground, text},
		{"disabled text (upcoming steps)", theme.ColorNameDisabled, theme.ColorNameBackground, "", text},
		{"disabled button text (Next)", theme.ColorNameDisabled, theme.ColorNameDisabledButton, "", text},
		{"disabled text in a card", theme.ColorNameDisabled, theme.ColorNameInputBackground, "", text},
		{"placeholder", theme.ColorNamePlaceHolder, theme.ColorNameInputBackground, "", text},
		{"primary button text", theme.ColorNameForegroundOnPrimary, theme.ColorNamePrimary, "", text},
		{"danger button text", theme.ColorNameForegroundOnError, theme.ColorNameError, "", text},
		{"success button text", theme.ColorNameForegroundOnSuccess, theme.ColorNameSuccess, "", text},
		{"warning button text", theme.ColorNameForegroundOnWarning, theme.ColorNameWarning, "", text},
		{"hyperlink", theme.ColorNameHyperlink, theme.ColorNameBackground, "", text},
		{"hyperlink in a dialog", theme.ColorNameHyperlink, theme.ColorNameOverlayBackground, "", text},
		{"current step, selected tab", theme.ColorNamePrimary, theme.ColorNameBackground, "", text},
		{"primary text in a card", theme.ColorNamePrimary, theme.ColorNameInputBackground, "", text},
		{"blocker text", theme.ColorNameError, theme.ColorNameBackground, "", text},
		{"blocker text in a card", theme.ColorNameError, theme.ColorNameInputBackground, "", text},
		{"warning text", theme.ColorNameWarning, theme.ColorNameBackground, "", text},
		{"warning text in a card", theme.ColorNameWarning, theme.ColorNameInputBackground, "", text},
		{"success text", theme.ColorNameSuccess, theme.ColorNameBackground, "", text},
		{"success text in a card", theme.ColorNameSuccess, theme.ColorNameInputBackground, "", text},
		{"entry border", theme.ColorNameInputBorder, theme.ColorNameBackground, "", ui},
		{"entry border in a card", theme.ColorNameInputBorder, theme.ColorNameInputBackground, "", ui},
		{"focused entry border, radio mark", theme.ColorNamePrimary, theme.ColorNameBackground, "", ui},
		{"focused entry border in a card", theme.ColorNamePrimary, theme.ColorNameInputBackground, "", ui},
		{"focus highlight", theme.ColorNameFocus, theme.ColorNameBackground, "", ui},
		{"focus highlight in a card", theme.ColorNameFocus, theme.ColorNameInputBackground, "", ui},
		{"focus ring (foreground, drawn outside the control)", theme.ColorNameForeground, theme.ColorNameBackground, "", ui},
		{"focus ring in a card", theme.ColorNameForeground, theme.ColorNameInputBackground, "", ui},
		{"primary button on the page", theme.ColorNamePrimary, theme.ColorNameBackground, "", ui},
		{"separator", theme.ColorNameSeparator, theme.ColorNameBackground, "", ui},
		{"unselected radio and check outline", theme.ColorNameForeground, theme.ColorNameBackground, "", ui},
		{"scroll bar", theme.ColorNameScrollBar, theme.ColorNameBackground, n(theme.ColorNameBackground), ui},
	}
	for _, v := range []struct {
		name string
		v    fyne.ThemeVariant
	}{{"light", theme.VariantLight}, {"dark", theme.VariantDark}} {
		for _, p := range pairs {
			fg, bg := th.Color(p.fg, v.v), th.Color(p.bg, v.v)
			if p.onBase != "" {
				base := th.Color(p.onBase, v.v)
				fg, bg = over(fg, base), over(bg, base)
			}
			r := contrast(fg, bg)
			line := fmt.Sprintf("%-5s %-48s %5.2f:1 (needs %.1f)", v.name, p.what, r, p.min)
			if r < p.min {
				t.Errorf("%s: too low", line)
			} else {
				t.Log(line)
			}
		}
	}
}

// TestContrastFormula checks the formula on WCAG's own end points.
func TestContrastFormula(t *testing.T) {
	black, white := color.Black, color.White
	if r := contrast(black, white); math.Abs(r-21) > 0.01 {
		t.Errorf("black on white %.2f, want 21", r)
	}
	if r := contrast(rgb(0x767676), white); r < 4.5 || r > 4.6 {
		t.Errorf("#767676 on white %.2f, want 4.54", r)
	}
}
