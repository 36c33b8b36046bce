//go:build !windows

package journal

import (
	"errors"
	"os"
)

// syncDir makes a file's creation or removal in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return err
	}
	return nil
}

// releaseTemp keeps the journal open through the handle that wrote it;
// createJournal's deferred remove takes the temporary name away.
func releaseTemp(f *os.File, _, _ string) (*os.File, error) { return f, nil }
