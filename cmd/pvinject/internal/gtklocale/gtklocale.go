//go:build cgo && linux

// Package gtklocale falls back to the C.UTF-8 locale when the one the
// environment names is not installed, as happens when an ssh session
// forwards LANG=en_US.UTF-8 to a minimal server or container. Without it
// GTK, which sqweek/dialog initialises in its package init, prints "Locale
// not supported by C library" on stderr at every start, even for
// `pvinject --version`, breaking the CLI's one-line error contract.
//
// It must run before sqweek/dialog's init. Go initialises, among the
// packages whose imports are done, the one whose import path sorts first:
// this package imports only runtime/cgo (as sqweek/dialog does) and its
// path sorts before github.com/sqweek, so it goes first. It is plain C for
// that reason: importing os would make it wait. TestNoLocaleNoise in
// cmd/pvinject checks it.
package gtklocale

// #include <locale.h>
// #include <stdlib.h>
//
// static void pvinject_locale_fallback(void) {
// 	if (setlocale(LC_ALL, "") == NULL) {
// 		setenv("LC_ALL", "C.UTF-8", 1);
// 	}
// }
import "C"

func init() { C.pvinject_locale_fallback() }
