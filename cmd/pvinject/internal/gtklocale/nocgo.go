//go:build !cgo

// Without cgo there is no GTK to warn, so there is nothing to do.
package gtklocale
