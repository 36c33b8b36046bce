package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pvinject/pvinject/core/inject"
)

// errNotBootable is wrapped when an injection was written and verified but
// the boot check says Windows will not boot on the bus the drivers serve:
// the command then exits non-zero, and the journal stays for rollback.
var errNotBootable = errors.New("will not boot")

func notBootable(rep *inject.Report) error {
	if rep == nil || rep.Boot.Boots() {
		return nil
	}
	why := strings.Join(rep.Boot.Summary, " ")
	if !rep.Boot.Checked {
		why = rep.Boot.Problem
	}
	return fmt.Errorf("%s: the changes were written and read back, but Windows %w: %s Undo with: %s",
		rep.Plan.Target, errNotBootable, why, rep.Rollback)
}

// statusNotBootable is a batch image written and verified whose boot check
// is red.
const statusNotBootable = "not-bootable"
