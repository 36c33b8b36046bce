package ui

import (
	"image/color"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// dataTable is a read-only table of strings with a bold header row. Each
// column is as wide as its widest cell, up to a cap; longer cells wrap and
// their row grows to show the whole text, so nothing is cut. Columns can be
// dragged wider by their header border, and the row's full text is also
// shown below the table when a cell is selected.
type dataTable struct {
	headers []string
	caps    []float32
	rows    [][]string
	table   *widget.Table
	widths  []float32
	heights []float32
	sized   *canvas.Rectangle
	maxH    float32
	detail  *widget.Label
	box     fyne.CanvasObject
}

// newDataTable makes a table at most maxHeight tall (it shrinks to fit
// fewer rows) whose columns are at most caps wide.
func newDataTable(headers []string, caps []float32, maxHeight float32) *dataTable {
	d := &dataTable{headers: headers, caps: caps, detail: widget.NewLabel(""), maxH: maxHeight}
	d.detail.Wrapping = fyne.TextWrapWord
	d.detail.Hide()
	cell := func() fyne.CanvasObject {
		l := widget.NewLabel("")
		l.Wrapping = fyne.TextWrapWord
		return l
	}
	d.table = widget.NewTable(
		func() (int, int) { return len(d.rows), len(d.headers) },
		cell,
		func(id widget.TableCellID, o fyne.CanvasObject) {
			l := o.(*widget.Label)
			if id.Row < len(d.rows) && id.Col < len(d.rows[id.Row]) {
				l.SetText(d.rows[id.Row][id.Col])
			} else {
				l.SetText("")
			}
		})
	d.table.ShowHeaderRow = true
	d.table.CreateHeader = func() fyne.CanvasObject {
		l := cell().(*widget.Label)
		l.TextStyle.Bold = true
		return l
	}
	d.table.UpdateHeader = func(id widget.TableCellID, o fyne.CanvasObject) {
		if id.Col >= 0 && id.Col < len(d.headers) {
			o.(*widget.Label).SetText(d.headers[id.Col])
		}
	}
	d.sizeColumns()
	d.table.OnSelected = func(id widget.TableCellID) {
		if id.Row < 0 || id.Row >= len(d.rows) {
			return
		}
		var text string
		for i, h := range d.headers {
			if i < len(d.rows[id.Row]) && d.rows[id.Row][i] != "" {
				text += h + ": " + d.rows[id.Row][i] + "\n"
			}
		}
		d.detail.SetText(text)
		d.detail.Show()
	}
	d.sized = canvas.NewRectangle(color.Transparent)
	d.sized.SetMinSize(fyne.NewSize(0, maxHeight))
	d.box = container.NewVBox(container.NewStack(d.sized, d.table), d.detail)
	return d
}

func (d *dataTable) object() fyne.CanvasObject { return d.box }

// setRows replaces the rows; unchanged rows leave the table alone so a
// redraw keeps the scroll position.
func (d *dataTable) setRows(rows [][]string) {
	if equalRows(d.rows, rows) {
		return
	}
	d.rows = rows
	d.sizeColumns()
	// Each row is as tall as its most wrapped cell, plus the table's
	// separator; keep a header and at least one row visible.
	sep := theme.SeparatorThicknessSize()
	total := d.textHeight(1) + sep
	d.heights = make([]float32, len(rows))
	for i, r := range rows {
		h := d.textHeight(1)
		for c, text := range r {
			if c < len(d.widths) {
				h = max(h, d.textHeight(wrappedLines(text, d.widths[c]-2*theme.InnerPadding())))
			}
		}
		d.table.SetRowHeight(i, h)
		d.heights[i] = h
		total += h + sep
	}
	if len(rows) == 0 {
		total += d.textHeight(1) + sep
	}
	d.sized.SetMinSize(fyne.NewSize(0, min(d.maxH, total+theme.Padding())))
	d.table.UnselectAll()
	d.detail.Hide()
	d.table.Refresh()
}

// sizeColumns sets each column to its widest cell or header, up to its cap.
func (d *dataTable) sizeColumns() {
	pad := 2*theme.InnerPadding() + 2
	d.widths = make([]float32, len(d.headers))
	for c, h := range d.headers {
		w := fyne.MeasureText(h, theme.TextSize(), fyne.TextStyle{Bold: true}).Width
		for _, r := range d.rows {
			if c < len(r) {
				w = max(w, fyne.MeasureText(r[c], theme.TextSize(), fyne.TextStyle{}).Width)
			}
		}
		w += pad
		if c < len(d.caps) && d.caps[c] > 0 {
			w = min(w, d.caps[c])
		}
		d.widths[c] = w
		d.table.SetColumnWidth(c, w)
	}
}

// textHeight is the height of a cell showing lines lines of text.
func (d *dataTable) textHeight(lines int) float32 {
	line := fyne.MeasureText("Ag", theme.TextSize(), fyne.TextStyle{}).Height
	return float32(lines)*line + 2*theme.InnerPadding()
}

// wrappedLines counts the lines text takes when wrapped at words to width,
// as a word-wrapped label does.
func wrappedLines(text string, width float32) int {
	lines := 0
	for _, para := range strings.Split(text, "\n") {
		lines++
		line := ""
		for _, w := range strings.Fields(para) {
			try := w
			if line != "" {
				try = line + " " + w
			}
			if line != "" && fyne.MeasureText(try, theme.TextSize(), fyne.TextStyle{}).Width > width {
				lines++
				try = w
			}
			// A word wider than the column is broken across lines.
			if ww := fyne.MeasureText(w, theme.TextSize(), fyne.TextStyle{}).Width; ww > width && width > 0 {
				lines += int(ww / width)
				try = ""
			}
			line = try
		}
	}
	return max(lines, 1)
}

func equalRows(a, b [][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if len(a[i]) != len(b[i]) {
			return false
		}
		for j := range a[i] {
			if a[i][j] != b[i][j] {
				return false
			}
		}
	}
	return true
}
