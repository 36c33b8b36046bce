package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/pvinject/pvinject/wizard"
)

// imageScreen is step 1: choose a disk image and see what it is.
type imageScreen struct {
	u       *UI
	open    *button
	demo    *button
	path    *widget.Label
	summary *fyne.Container
	parts   *dataTable
	shown   *wizard.ImageSummary
	box     fyne.CanvasObject
}

func newImageScreen(u *UI) *imageScreen {
	s := &imageScreen{u: u, path: widget.NewLabel(""), summary: container.NewVBox()}
	s.path.Wrapping = fyne.TextWrapBreak
	s.open = newButton("Open image…", theme.FolderOpenIcon(), s.choose)
	s.open.Importance = widget.HighImportance
	buttons := container.NewHBox(s.open)
	if dp, ok := u.wiz.Engine().(wizard.DemoProvider); ok {
		s.demo = newButton("Use the demo image", theme.MediaPlayIcon(), func() {
			u.run("demo image", func(ctx context.Context) error {
				p, err := dp.DemoImage(ctx)
				if err != nil {
					u.do(func() { u.showError(err) })
					return err
				}
				return u.wiz.OpenImage(ctx, p)
			})
		})
		buttons.Add(s.demo)
	}
	s.parts = newDataTable([]string{"#", "Scheme", "Type", "Start", "Size", "File system", "Label"},
		[]float32{40, 85, 190, 100, 100, 115, 200}, 260)
	s.box = container.NewVBox(
		heading("Which disk image should get the drivers?"),
		dim("pvinject reads raw, VHD, VHDX, VMDK and qcow2 images. Nothing is written until you press Apply in step 6."),
		buttons,
		dim("…or drop an image file anywhere on this window."),
		s.path,
		s.summary,
	)
	return s
}

func (s *imageScreen) object() fyne.CanvasObject { return s.box }

func (s *imageScreen) choose() {
	s.u.picker.OpenFile("Open a Windows disk image", []Filter{imageFilter}, func(path string, err error) {
		if err != nil {
			if !errors.Is(err, errCancelled) {
				s.u.showError(err)
			}
			return
		}
		s.u.openImage(path)
	})
}

func (s *imageScreen) update(st wizard.State) {
	busy := st.Busy != ""
	setEnabled(s.open, !busy)
	if s.demo != nil {
		setEnabled(s.demo, !busy)
	}
	switch {
	case st.ImagePath == "":
		s.path.SetText("No image chosen yet.")
	default:
		s.path.SetText(st.ImagePath)
	}
	if st.Image == s.shown && st.Image != nil {
		return
	}
	s.shown = st.Image
	s.summary.Objects = nil
	if st.ImageErr != nil {
		s.summary.Add(findingRow(wizard.Finding{Severity: "blocker", Message: st.ImageErr.Error(),
			Remedy: "choose another file, or check that it is a disk image and readable"}))
	}
	if img := st.Image; img != nil && img.Journal != nil {
		s.summary.Add(s.journalCard(img))
	} else if img != nil {
		s.summary.Add(card("Image", s.imageFacts(img)))
		s.summary.Add(spacer())
		s.parts.setRows(partRows(img.Partitions))
		s.summary.Add(card(fmt.Sprintf("Partitions (%d)", len(img.Partitions)), s.parts.object()))
		if rows := findingRows(img.Findings); len(rows) > 0 {
			s.summary.Add(spacer())
			s.summary.Add(card("Before you go on", rows...))
		}
	}
	s.summary.Refresh()
}

// journalCard says what an earlier run left on the image and offers the
// ways out: Roll back, Keep (when that run finished) and its report.
func (s *imageScreen) journalCard(img *wizard.ImageSummary) fyne.CanvasObject {
	j := img.Journal
	roll := newButton("Roll back", theme.ContentUndoIcon(), func() {
		s.u.run("rollback", func(ctx context.Context) error { return s.u.wiz.RollbackImage(ctx) })
	})
	roll.Importance = widget.DangerImportance
	buttons := container.NewHBox(roll)
	if j.Finished {
		keep := newButton("Keep", theme.ConfirmIcon(), func() {
			s.u.run("keep", func(ctx context.Context) error { return s.u.wiz.KeepImage(ctx) })
		})
		buttons.Add(keep)
	}
	if j.ReportPath != "" {
		buttons.Add(newButton("Open the report", theme.FileTextIcon(), func() { s.u.openPath(j.ReportPath) }))
	}
	rows := append(findingRows(img.Findings), buttons)
	return card("This image was changed by pvinject", rows...)
}

func (s *imageScreen) imageFacts(img *wizard.ImageSummary) fyne.CanvasObject {
	chain := "none: a standalone image"
	if len(img.Chain) > 0 {
		var links []string
		for _, c := range img.Chain {
			l := c.Path + " (" + c.Format + ")"
			if c.Missing {
				l += " — MISSING"
			}
			links = append(links, l)
		}
		chain = "differencing disk; parents: " + strings.Join(links, " → ")
	}
	return facts(
		"Format", strings.ToUpper(img.Format),
		"Virtual size", fmt.Sprintf("%s (%d bytes)", wizard.HumanBytes(img.VirtualSize), img.VirtualSize),
		"Size on disk", wizard.HumanBytes(img.FileSize),
		"Backing chain", chain,
	)
}

func partRows(ps []wizard.PartitionSummary) [][]string {
	rows := make([][]string, 0, len(ps))
	for _, p := range ps {
		rows = append(rows, []string{fmt.Sprint(p.Index), strings.ToUpper(p.Scheme), p.Type,
			wizard.HumanBytes(p.Start), wizard.HumanBytes(p.Size), strings.ToUpper(p.Filesystem), p.Label})
	}
	return rows
}
