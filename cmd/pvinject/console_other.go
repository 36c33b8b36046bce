//go:build !windows

package main

// leaveOwnConsole: only Windows opens a console for a program started from
// the desktop.
func leaveOwnConsole() {}
