package ui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
)

// appTheme is Fyne's default theme with colours chosen so that text and
// controls meet WCAG 2.x level AA contrast in both variants: 4.5:1 for text
// (including disabled Next, upcoming step names and placeholders, which the
// default light theme draws at about 2:1) and 3:1 for the parts of a control
// that show its state (input borders, separators, the focus highlight). The
// ratios are checked by TestThemeContrast; the rule is WCAG 2.1 success
// criteria 1.4.3 (text) and 1.4.11 (non-text), see docs/ACCESSIBILITY.md.
type appTheme struct{ fyne.Theme }

func newAppTheme() fyne.Theme { return appTheme{theme.DefaultTheme()} }

func rgb(v uint32) color.NRGBA {
	return color.NRGBA{R: uint8(v >> 16), G: uint8(v >> 8), B: uint8(v), A: 0xff}
}

func rgba(v uint32, a uint8) color.NRGBA {
	c := rgb(v)
	c.A = a
	return c
}

// palette holds the colours of one variant; names missing here come from
// Fyne's default theme.
var palette = map[fyne.ThemeVariant]map[fyne.ThemeColorName]color.Color{
	theme.VariantLight: {
		theme.ColorNameBackground:          rgb(0xffffff),
		theme.ColorNameForeground:          rgb(0x1a1a1a),
		theme.ColorNameInputBackground:     rgb(0xf0f0f0),
		theme.ColorNameMenuBackground:      rgb(0xffffff),
		theme.ColorNameOverlayBackground:   rgb(0xffffff),
		theme.ColorNameHeaderBackground:    rgb(0xe6e6e6),
		theme.ColorNameButton:              rgb(0xe2e2e2),
		theme.ColorNameDisabledButton:      rgb(0xe9e9e9),
		theme.ColorNameDisabled:            rgb(0x616161),
		theme.ColorNamePlaceHolder:         rgb(0x616161),
		theme.ColorNamePrimary:             rgb(0x0b57d0),
		theme.ColorNameForegroundOnPrimary: rgb(0xffffff),
		theme.ColorNameHyperlink:           rgb(0x0b57d0),
		theme.ColorNameFocus:               rgb(0x7488ad),
		theme.ColorNameHover:               rgba(0x000000, 0x14),
		theme.ColorNamePressed:             rgba(0x000000, 0x28),
		theme.ColorNameSelection:           rgba(0x0b57d0, 0x40),
		theme.ColorNameInputBorder:         rgb(0x767676),
		theme.ColorNameSeparator:           rgb(0x8a8a8a),
		theme.ColorNameScrollBar:           rgba(0x000000, 0x99),
		theme.ColorNameError:               rgb(0xb3261e),
		theme.ColorNameForegroundOnError:   rgb(0xffffff),
		theme.ColorNameSuccess:             rgb(0x146c2e),
		theme.ColorNameForegroundOnSuccess: rgb(0xffffff),
		theme.ColorNameWarning:             rgb(0x8a4b00),
		theme.ColorNameForegroundOnWarning: rgb(0xffffff),
	},
	theme.VariantDark: {
		theme.ColorNameBackground:          rgb(0x17171a),
		theme.ColorNameForeground:          rgb(0xf5f5f5),
		theme.ColorNameInputBackground:     rgb(0x232327),
		theme.ColorNameMenuBackground:      rgb(0x202024),
		theme.ColorNameOverlayBackground:   rgb(0x202024),
		theme.ColorNameHeaderBackground:    rgb(0x2c2c31),
		theme.ColorNameButton:              rgb(0x38383e),
		theme.ColorNameDisabledButton:      rgb(0x2a2a2f),
		theme.ColorNameDisabled:            rgb(0xa3a3a3),
		theme.ColorNamePlaceHolder:         rgb(0xa8a8a8),
		theme.ColorNamePrimary:             rgb(0x8ab4f8),
		theme.ColorNameForegroundOnPrimary: rgb(0x0a0a0a),
		theme.ColorNameHyperlink:           rgb(0x8ab4f8),
		theme.ColorNameFocus:               rgb(0x6b6f7a),
		theme.ColorNameHover:               rgba(0xffffff, 0x14),
		theme.ColorNamePressed:             rgba(0xffffff, 0x28),
		theme.ColorNameSelection:           rgba(0x8ab4f8, 0x50),
		theme.ColorNameInputBorder:         rgb(0x8c8c8c),
		theme.ColorNameSeparator:           rgb(0x7a7a7a),
		theme.ColorNameScrollBar:           rgba(0xffffff, 0x99),
		theme.ColorNameError:               rgb(0xf2b8b5),
		theme.ColorNameForegroundOnError:   rgb(0x0a0a0a),
		theme.ColorNameSuccess:             rgb(0x7dd69a),
		theme.ColorNameForegroundOnSuccess: rgb(0x0a0a0a),
		theme.ColorNameWarning:             rgb(0xf0c05a),
		theme.ColorNameForegroundOnWarning: rgb(0x0a0a0a),
	},
}

func (t appTheme) Color(n fyne.ThemeColorName, v fyne.ThemeVariant) color.Color {
	if c, ok := palette[v][n]; ok {
		return c
	}
	return t.Theme.Color(n, v)
}
