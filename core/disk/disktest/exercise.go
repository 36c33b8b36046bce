package disktest

import "github.com/pvinject/pvinject/core/disk"

// Exercise reads, writes and maps a few spots of an image opened from
// fuzzed bytes, then closes it: only panics matter, so errors are ignored.
func Exercise(img disk.Image) {
	buf := make([]byte, 8192)
	size := img.Size()
	for _, off := range []int64{0, 512, size / 2, size - int64(len(buf))} {
		if off >= 0 && off+int64(len(buf)) <= size {
			img.ReadAt(buf, off)  //nolint:errcheck // only panics matter
			img.WriteAt(buf, off) //nolint:errcheck
		}
	}
	img.(disk.Mapper).Map(0, min(size, 64<<20)) //nolint:errcheck
	img.Close()
}
