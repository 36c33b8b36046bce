//go:build !cgo || !linux

// Without cgo, or off Linux (sqweek/dialog uses GTK only there), there is
// no GTK to warn, so there is nothing to do.
package gtklocale
