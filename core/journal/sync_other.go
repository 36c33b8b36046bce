//go:build !linux

package journal

import "os"

const preallocStep = 16 << 20

func preallocate(f *os.File, size int64) error {
	if err := f.Truncate(size); err != nil {
		return err
	}
	return f.Sync()
}

func datasync(f *os.File) error { return f.Sync() }
