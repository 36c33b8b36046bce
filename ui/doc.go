// Package ui renders the wizard package's six steps with Fyne. Each screen
// lives in its own file as a constructor that builds widgets and an update
// method that redraws them from a wizard.State snapshot.
//
// Threading: engine calls run in goroutines started by UI.run; the wizard's
// change listener schedules one coalesced redraw through fyne.Do, so widgets
// are only touched on Fyne's goroutine (FyneApp.toml turns on the fyneDo
// migration). Tests swap fyne.Do for a queue they drain themselves.
package ui
