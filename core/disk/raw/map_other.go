//go:build !linux

package raw

import "github.com/pvinject/pvinject/core/disk"

func seekMap(fd uintptr, off, length int64) ([]disk.Extent, error) { return nil, errNoMap }
