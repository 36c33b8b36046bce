package ui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// dataTable is a read-only table of strings with a bold header row and fixed
// column widths; long cells end in an ellipsis, and the row's full text is
// shown below the table when a cell is selected.
type dataTable struct {
	headers []string
	rows    [][]string
	table   *widget.Table
	sized   *canvas.Rectangle
	maxH    float32
	detail  *widget.Label
	box     fyne.CanvasObject
}

// newDataTable makes a table at most maxHeight tall; it shrinks to fit
// fewer rows.
func newDataTable(headers []string, widths []float32, maxHeight float32) *dataTable {
	d := &dataTable{headers: headers, detail: widget.NewLabel(""), maxH: maxHeight}
	d.detail.Wrapping = fyne.TextWrapWord
	d.detail.Selectable = true
	d.detail.Hide()
	cell := func() fyne.CanvasObject {
		l := widget.NewLabel("")
		l.Truncation = fyne.TextTruncateEllipsis
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
	for i, w := range widths {
		d.table.SetColumnWidth(i, w)
	}
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
	// One row is a label plus the table's separator; keep a header and at
	// least one row visible.
	rowH := widget.NewLabel("Ag").MinSize().Height + theme.SeparatorThicknessSize()
	d.sized.SetMinSize(fyne.NewSize(0, min(d.maxH, rowH*float32(max(len(rows), 1)+1)+theme.Padding())))
	d.table.UnselectAll()
	d.detail.Hide()
	d.table.Refresh()
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
