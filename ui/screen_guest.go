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

// guestScreen is step 2: which Windows was found, and a choice when there
// are several.
type guestScreen struct {
	u       *UI
	choice  *widget.RadioGroup
	titles  []string
	details *fyne.Container
	addLogs *button
	shownG  []wizard.GuestSummary
	shownI  int
	box     fyne.CanvasObject
}

func newGuestScreen(u *UI) *guestScreen {
	s := &guestScreen{u: u, details: container.NewVBox(), shownI: -2}
	s.choice = widget.NewRadioGroup(nil, func(sel string) {
		if u.updating {
			return
		}
		for i, t := range s.titles {
			if t == sel {
				slog.Debug("ui: guest chosen", "index", i, "title", t)
				_ = u.wiz.SelectGuest(i)
			}
		}
	})
	s.choice.Required = true
	// A dirty hive whose logs were kept elsewhere: take them from there.
	s.addLogs = newButton("Add registry logs…", theme.FolderOpenIcon(), s.chooseLogs)
	s.addLogs.Hide()
	s.box = container.NewVBox(
		heading("Which Windows is inside?"),
		dim("Read from the SYSTEM and SOFTWARE hives and System32 of the image, without starting it."),
		s.choice,
		s.details,
		container.NewHBox(s.addLogs),
	)
	return s
}

func (s *guestScreen) object() fyne.CanvasObject { return s.box }

// chooseLogs asks for one registry log (SYSTEM.LOG1, SYSTEM.LOG2, ...);
// press again for the next.
func (s *guestScreen) chooseLogs() {
	s.u.picker.OpenFile("Choose a registry log (SYSTEM.LOG1, SYSTEM.LOG2…)", nil, func(path string, err error) {
		if err != nil {
			if !errors.Is(err, errCancelled) {
				s.u.showError(err)
			}
			return
		}
		s.u.run("add registry logs", func(ctx context.Context) error { return s.u.wiz.AddHiveLogs(ctx, []string{path}) })
	})
}

func (s *guestScreen) update(st wizard.State) {
	showIf(s.addLogs, st.CanAddHiveLogs)
	if len(st.Guests) > 1 {
		s.titles = s.titles[:0]
		for i, g := range st.Guests {
			s.titles = append(s.titles, fmt.Sprintf("%d. %s", i+1, g.Title()))
		}
		s.choice.Options = s.titles
		s.choice.Show()
		sel := ""
		if st.Guest >= 0 {
			sel = s.titles[st.Guest]
		}
		if s.choice.Selected != sel {
			s.choice.SetSelected(sel)
		}
		s.choice.Refresh()
	} else {
		s.choice.Hide()
	}
	if sameGuests(s.shownG, st.Guests) && s.shownI == st.Guest {
		return
	}
	s.shownG, s.shownI = st.Guests, st.Guest
	s.details.Objects = nil
	switch {
	case st.GuestErr != nil:
		s.details.Add(findingRow(wizard.Finding{Severity: "blocker", Message: st.GuestErr.Error()}))
	case st.GuestsLoaded && len(st.Guests) == 0:
		s.details.Add(findingRow(wizard.Finding{Severity: "blocker", Message: "No Windows installation was found in this image",
			Remedy: "check that this is the system disk of a Windows VM, not a data disk"}))
	case st.GuestsLoaded && len(st.Guests) > 1 && st.Guest < 0:
		s.details.Add(dim(fmt.Sprintf("%d Windows installations were found; choose the one to prepare.", len(st.Guests))))
	case st.Guest >= 0:
		g := st.Guests[st.Guest]
		s.details.Add(card(g.ProductName, guestFacts(g)))
		if rows := findingRows(g.Findings); len(rows) > 0 {
			s.details.Add(spacer())
			s.details.Add(card("Noticed in this guest", rows...))
		}
	}
	s.details.Refresh()
}

func sameGuests(a, b []wizard.GuestSummary) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

func guestFacts(g wizard.GuestSummary) fyne.CanvasObject {
	version := fmt.Sprintf("%d.%d, build %d", g.Major, g.Minor, g.Build)
	if g.UBR != 0 {
		version = fmt.Sprintf("%d.%d.%d.%d", g.Major, g.Minor, g.Build, g.UBR)
	}
	sp := g.ServicePack
	if sp == "" {
		sp = "none"
	}
	pv := "none"
	if len(g.PVDrivers) > 0 {
		var l []string
		for _, d := range g.PVDrivers {
			s := d.Name + " (" + d.Family
			if d.Version != "" {
				s += " " + d.Version
			}
			l = append(l, s+")")
		}
		pv = strings.Join(l, ", ")
	}
	sets := g.ControlSet
	if len(g.ControlSets) > 1 {
		sets += " (present: " + strings.Join(g.ControlSets, ", ") + ")"
	}
	return facts(
		"Product", g.ProductName,
		"Version", version,
		"Service pack", sp,
		"Edition", orDash(g.Edition),
		"Installation type", orDash(g.InstallationType),
		"Architecture", g.Arch,
		"System root", g.SystemRoot,
		"Control set", sets,
		"PV drivers already there", pv,
	)
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}
