package image

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"sync"

	"github.com/pvinject/pvinject/core/disk"
)

const (
	copyChunk = 2 << 20 // bytes read per request
	zeroBlock = 4 << 10 // granularity of zero detection: smallest hole kept
	mapWindow = 1 << 30 // extents are asked for this much of the disk at a time
	inFlight  = 6       // chunk buffers shared by the readers and the writer
	readers   = 2       // concurrent source readers
)

var zeros = make([]byte, zeroBlock)

// Convert writes src into a new image at dstPath in format (qemu-img's name,
// or "" to take it from dstPath's extension). Only data is written: ranges
// that no layer of src allocates are skipped when every layer can map its
// allocation (disk.Mapper), and blocks of zeros are always skipped, so the new
// image stays sparse. src is only read. progress (may be nil) gets the bytes
// of the virtual disk handled so far and the total. When ctx is cancelled or
// anything fails, the partial output is removed (cancellation wraps
// ctx.Err(): test with errors.Is(err, context.Canceled)). dstPath must not
// exist.
func Convert(ctx context.Context, src disk.Image, dstPath, format string, progress func(done, total int64)) (err error) {
	var f disk.Format
	if format != "" {
		f, err = FormatByName(format)
	} else {
		f, err = FormatForPath(dstPath)
	}
	if err != nil {
		return err
	}
	if f.Create == nil {
		return fmt.Errorf("image: convert to %s: pvinject cannot write format %s; choose another output format", dstPath, f.Name)
	}
	if _, err := os.Lstat(dstPath); err == nil {
		return fmt.Errorf("image: convert: output %s already exists; choose a new file name", dstPath)
	}
	size := src.Size()
	dst, err := f.Create(dstPath, size, disk.CreateOptions{})
	if err != nil {
		os.Remove(dstPath) // a Create that failed half-way may leave the file
		return fmt.Errorf("image: create %s (%s): %w", dstPath, f.Name, err)
	}
	created := []string{dstPath}
	if d, ok := dst.(disk.Describer); ok {
		created = append(created, d.Info().Files...)
	}
	defer func() {
		if cerr := dst.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("image: close %s: %w", dstPath, cerr)
		}
		if err != nil {
			for _, p := range created {
				os.Remove(p)
			}
		}
	}()
	if progress == nil {
		progress = func(int64, int64) {}
	}
	if err := copyData(ctx, src, dst, progress); err != nil {
		return fmt.Errorf("image: convert to %s: %w", dstPath, err)
	}
	return nil
}

// piece is a run of the disk to copy: data read into buf, or a hole (buf
// nil) that only counts for progress.
type piece struct {
	off, n int64
	hole   bool
	buf    []byte
}

// copyData enumerates the source's extents on one goroutine, reads chunks
// on `readers` goroutines (formats allow concurrent ReadAt) and writes on
// this one (WriteAt is single-goroutine), so reading, decoding and writing
// overlap. Progress counts bytes handled, holes included, so it only grows.
func copyData(ctx context.Context, src, dst disk.Image, progress func(done, total int64)) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	size := src.Size()
	free := make(chan []byte, inFlight)
	for range inFlight {
		free <- make([]byte, copyChunk)
	}
	jobs := make(chan piece, inFlight)
	work := make(chan piece, inFlight)
	go func() {
		defer close(jobs)
		if err := enumerate(ctx, src, jobs); err != nil {
			cancel(err)
		}
	}()
	var wg sync.WaitGroup
	for range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				if !j.hole {
					select {
					case j.buf = <-free:
					case <-ctx.Done():
						continue // drain jobs so the producer can finish
					}
					j.buf = j.buf[:j.n]
					if k, err := src.ReadAt(j.buf, j.off); k != len(j.buf) {
						cancel(fmt.Errorf("read source at %d: %w", j.off, err))
						free <- j.buf
						continue
					}
				}
				select {
				case work <- j:
				case <-ctx.Done():
					if j.buf != nil {
						free <- j.buf
					}
				}
			}
		}()
	}
	go func() {
		wg.Wait()
		close(work)
	}()
	var done int64
	for p := range work {
		if ctx.Err() == nil && !p.hole {
			if err := writeNonZero(dst, p.buf, p.off); err != nil {
				cancel(err)
			}
		}
		if p.buf != nil {
			free <- p.buf[:cap(p.buf)]
		}
		if ctx.Err() == nil {
			done += p.n
			progress(done, size)
		}
	}
	return context.Cause(ctx)
}

// enumerate sends the data chunks and holes of src in order.
func enumerate(ctx context.Context, src disk.Image, jobs chan<- piece) error {
	size := src.Size()
	m := mapperOf(src)
	send := func(p piece) error {
		select {
		case jobs <- p:
			return nil
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	for w := int64(0); w < size; w += mapWindow {
		wl := min(mapWindow, size-w)
		ext := []disk.Extent{{Offset: w, Length: wl, Allocated: true}}
		if m != nil {
			e, err := m.Map(w, wl)
			if err != nil {
				return fmt.Errorf("map source at %d: %w", w, err)
			}
			ext = e
		}
		for _, e := range ext {
			if !e.Allocated || e.Zero {
				if err := send(piece{off: e.Offset, n: e.Length, hole: true}); err != nil {
					return err
				}
				continue
			}
			for off := e.Offset; off < e.Offset+e.Length; {
				// Align chunks to copyChunk so writes line up with clusters.
				n := min(copyChunk-off%copyChunk, e.Offset+e.Length-off)
				if err := send(piece{off: off, n: n}); err != nil {
					return err
				}
				off += n
			}
		}
	}
	return nil
}

// mapperOf returns a Mapper that describes the whole chain of src, or nil.
func mapperOf(src disk.Image) disk.Mapper {
	if im, ok := src.(*Image); ok {
		if _, err := im.Map(0, 0); err != nil {
			return nil
		}
		return im
	}
	m, ok := src.(disk.Mapper)
	d, dok := src.(disk.Describer)
	if ok && dok && d.Info().Parent == "" {
		return m
	}
	return nil
}

// writeNonZero writes the runs of buf that are not all-zero blocks.
func writeNonZero(dst disk.Image, buf []byte, off int64) error {
	start := -1
	flush := func(end int) error {
		if start < 0 {
			return nil
		}
		at := off + int64(start)
		_, err := dst.WriteAt(buf[start:end], at)
		start = -1
		if err != nil {
			return fmt.Errorf("write output at %d: %w", at, err)
		}
		return nil
	}
	for i := 0; i < len(buf); i += zeroBlock {
		j := min(i+zeroBlock, len(buf))
		if bytes.Equal(buf[i:j], zeros[:j-i]) {
			if err := flush(i); err != nil {
				return err
			}
		} else if start < 0 {
			start = i
		}
	}
	return flush(len(buf))
}
