package inject

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/pvinject/pvinject/core/drivers"

	"github.com/pvinject/pvinject/core/imagelock"
	"github.com/pvinject/pvinject/core/journal"
	"github.com/pvinject/pvinject/core/safety"
)

// lockUse says what the lock is taken for; it decides the checks.
type lockUse int

const (
	lockInject   lockUse = iota // write in place: lock, one name, not in use
	lockRollback                // write back old bytes: lock, not in use
	lockAccept                  // only removes the journal: lock
)

// lockImage takes the exclusive lock on the image (core/imagelock) for use.
// Refusals are *safety.Refusal (nothing was written). The caller releases it.
func lockImage(path string, use lockUse) (*imagelock.Lock, error) {
	lk, err := imagelock.Acquire(path, imagelock.Exclusive)
	if err != nil {
		return nil, lockRefusal(path, err)
	}
	if use == lockInject && lk.Links > 1 {
		lk.Release()
		return nil, &safety.Refusal{Subject: path,
			Reason: fmt.Sprintf("the file has %d names on disk (hard links): writing in place would change every one of them, and the rollback record kept under one name could not be found from the others", lk.Links),
			Remedy: "copy the image to a file of its own and inject that, or write the result to a new image"}
	}
	if use != lockAccept {
		if err := lk.CheckInUse(); err != nil {
			lk.Release()
			return nil, lockRefusal(path, err)
		}
	}
	return lk, nil
}

// lockRefusal turns an imagelock refusal into a *safety.Refusal and wraps
// anything else.
func lockRefusal(path string, err error) error {
	var le *imagelock.Error
	if errors.As(err, &le) {
		reason := le.Reason
		if le.Holder != "" {
			reason += " (" + le.Holder + ")"
		}
		return &safety.Refusal{Subject: path, Reason: reason}
	}
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%s: no such image file", path)
	}
	return fmt.Errorf("inject: %w", err)
}

// journalImage is the name the image's journal is kept under: its canonical
// name (core/imagelock doc), or path itself when that cannot be resolved.
func journalImage(path string) string { return imagelock.Name(path) }

// HasJournal reports whether the image at path, under any of the names that
// resolve to it, has a journal (an injection not yet accepted or rolled back).
func HasJournal(path string) bool { return journal.Exists(journalImage(path)) }

// JournalPath is where the journal of the image at path lives: beside its
// canonical name, whatever name path is.
func JournalPath(path string) string { return journal.Path(journalImage(path)) }

// noJournal says that there is nothing to act on, and why a hard-linked
// name may be the reason.
func noJournal(path string, lk *imagelock.Lock, verb string) error {
	if rep, err := LoadReport(path); err == nil && rep.Plan != nil && !rep.Plan.Request.InPlace {
		return noJournalError(fmt.Sprintf("%s: nothing to %s: it is a new image that pvinject wrote, and %s was never changed; to undo, delete it", path, verb, rep.Plan.Request.Image))
	}
	msg := fmt.Sprintf("%s: nothing to %s: no journal %s", path, verb, journal.Path(lk.Path))
	if lk.Links > 1 {
		msg += fmt.Sprintf(" (this file has %d names on disk; run it on the name the injection used)", lk.Links)
	}
	return noJournalError(msg)
}

// noJournalError is a one-line message that wraps journal.ErrNoJournal
// without repeating its words.
type noJournalError string

func (e noJournalError) Error() string { return string(e) }
func (e noJournalError) Unwrap() error { return journal.ErrNoJournal }

// unsafeSourceRefusal turns a driver-source entry that pvinject will not
// read (core/drivers.sourceFS) into a refusal naming it once.
func unsafeSourceRefusal(err error) error {
	var u *drivers.UnsafeFileError
	if !errors.As(err, &u) {
		return err
	}
	return &safety.Refusal{Subject: u.Path, Reason: "it is " + u.Why + "; pvinject reads only the driver source's own files",
		Remedy: "remove it, or use an unmodified driver source from the vendor"}
}

// checkDriverBinary blocks the plan when a file written as a driver (.sys)
// is not a Windows driver binary: whatever the INF and the source say, no
// other bytes may be installed where Windows loads kernel code from.
func (pl *planner) checkDriverBinary(guestPath string, data []byte, source string) {
	if !strings.HasSuffix(strings.ToLower(guestPath), ".sys") {
		return
	}
	if _, err := drivers.PEArch(data); err != nil {
		pl.p.Blockers = append(pl.p.Blockers, safety.Finding{Severity: safety.Blocker, Code: "inject.driver-not-pe",
			Title:   "A driver file is not a Windows driver",
			Message: fmt.Sprintf("%s in the driver source is not a Windows driver binary; it would have been installed as %s", source, guestPath),
			Remedy:  "use an unmodified driver source from the vendor", Details: err.Error()})
	}
}
