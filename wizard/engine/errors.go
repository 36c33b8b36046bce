package engine

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/pvinject/pvinject/core/image"
	"github.com/pvinject/pvinject/core/inject"
	"github.com/pvinject/pvinject/core/safety"
	"github.com/pvinject/pvinject/wizard"
)

// plainError is what the screens show of a failure: one sentence about the
// file the user chose, and the innermost cause (the chain of every layer's
// context, which names the same path three times, goes to the debug log).
type plainError struct {
	msg   string
	cause error
}

func (e *plainError) Error() string { return e.msg }
func (e *plainError) Unwrap() error { return e.cause }

// plain logs err in full and returns it as "what: cause".
func (e *Engine) plain(what string, err error) error {
	if err == nil {
		return nil
	}
	e.log.Debug("engine error", "what", what, "err", err)
	var r *safety.Refusal
	if errors.As(err, &r) {
		// Refusals speak to the command line (their remedy may name a
		// flag): keep the reason only.
		return &plainError{msg: fmt.Sprintf("%s: %s", what, r.Reason), cause: err}
	}
	// A differencing disk's parent that is missing or outside its folder:
	// the image package's words name the files and say what to do.
	var pm *image.ParentMissingError
	if errors.As(err, &pm) {
		return &plainError{msg: pm.Error(), cause: err}
	}
	var po *image.ParentOutsideError
	if errors.As(err, &po) {
		return &plainError{msg: po.Error() + ". Move the parent image into the same folder as the disk, then open the disk again", cause: err}
	}
	if where, full := inject.FullDiskWhere(err); full {
		return &plainError{msg: fmt.Sprintf("%s: %s is full. Free some space there and try again.", what, where), cause: err}
	}
	inner := err
	for {
		u := errors.Unwrap(inner)
		if u == nil {
			break
		}
		inner = u
	}
	return &plainError{msg: fmt.Sprintf("%s: %s", what, inner), cause: err}
}

// blockersError says why a plan cannot be applied, in the wizard's words.
func (e *Engine) blockersError(fs []wizard.Finding) error {
	b := wizard.Blockers(fs)
	if len(b) == 0 {
		return nil
	}
	msg := wizard.FindingText(b[0])
	if len(b) > 1 {
		msg += fmt.Sprintf(" (and %d more problems)", len(b)-1)
	}
	return errors.New(msg)
}

func base(p string) string { return filepath.Base(p) }
