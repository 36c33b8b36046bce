// Package cleanlocale keeps Fyne from logging "Error parsing user locale C"
// at start-up under the C.UTF-8 locale (common in CI, containers and ssh
// sessions), which would break the CLI's one-line error contract.
//
// Fyne's lang package parses the locale in its package init, through
// go-locale, which reads LANGUAGE before LC_ALL/LANG unless the locale is
// plain C. Setting only LANGUAGE (when unset) leaves the C library's locale,
// and so GTK's, untouched: glibc uses LANGUAGE only to pick translations.
//
// It works by initialisation order: Go initialises, among the packages whose
// imports are ready, the one whose import path sorts first. This package
// needs only os, and fyne.io/fyne/v2/lang waits for golang.org/x/text, so
// this init runs first; TestNoLocaleNoise in cmd/pvinject checks it.
package cleanlocale

import (
	"os"
	"strings"
)

func init() {
	if os.Getenv("LANGUAGE") != "" {
		return
	}
	for _, v := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		if l := os.Getenv(v); l != "" {
			if strings.HasPrefix(l, "C.") || strings.HasPrefix(l, "POSIX.") {
				os.Setenv("LANGUAGE", "en")
			}
			return
		}
	}
}
