package image

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/pvinject/pvinject/core/disk"
	"github.com/pvinject/pvinject/internal/hostfile"
)

// MaxChainDepth bounds differencing chains (child plus parents).
const MaxChainDepth = 64

// headSize is how much of a file the probes see.
const headSize = 64 << 10

// Image is an opened virtual disk: the top layer of its chain, which reads
// through its parents and writes (when opened writable) to itself only.
type Image struct {
	disk.Image // the top layer

	path   string
	format string

	mu       sync.Mutex
	layers   map[int]layer // by depth, 0 = top
	backings []disk.Backing
	closed   bool
}

type layer struct {
	img    disk.Image
	format string
	path   string
}

// ErrParentMissing is wrapped by the error for a parent (backing) file that
// does not exist or is not a file.
var ErrParentMissing = errors.New("image: parent image not found")

// ParentMissingError is a differencing disk whose parent cannot be opened.
// It is the whole message an admin sees, from the command line and the
// wizard alike: a disk copied without its parent (a qcow2 overlay, a
// Hyper-V checkpoint's .avhdx) is a common first attempt, and the format
// layers' chain ("qcow2: …: open backing file …") says nothing they can act
// on.
type ParentMissingError struct {
	Child string   // the differencing disk, as it was opened
	Ref   string   // the parent as the disk stores it ("" when it stores none)
	Tried []string // where it was looked for
	Found string   // the parent, when it exists but is no disk image file
	Why   string   // what Found is instead (hostfile.NotImage's words)
}

func (e *ParentMissingError) Error() string {
	switch {
	case e.Ref == "":
		return fmt.Sprintf("%s: it is a differencing disk that does not say which image is its parent: the file is damaged. Use the disk it was made from, or a copy made before the damage", e.Child)
	case e.Found != "":
		return fmt.Sprintf("%s: it is a differencing disk whose parent image %s is not usable: %s. Put the parent disk image there, then try again", e.Child, e.Found, e.Why)
	}
	return fmt.Sprintf("%s: it is a differencing disk, and its parent image %q is not here (looked for %s). Copy the parent image into the same folder and try again, or first merge the disk into a standalone image on the machine that has the parent (for example with qemu-img convert, or Hyper-V Manager's Edit Disk, Merge)",
		e.Child, e.Ref, strings.Join(e.Tried, " and "))
}

func (e *ParentMissingError) Unwrap() error { return ErrParentMissing }

// ErrChainLoop is wrapped by the error for a chain that names one of its own
// images as a parent.
var ErrChainLoop = errors.New("image: differencing chain loops back on itself")

// Open opens path, choosing the format by content. With opts.Writable the top
// layer is opened read-write, but only after RefuseIfParent has found no
// child image in the same folder (a *safety.Refusal otherwise). Parents are
// always read-only. opts.Opener, when set, opens every host file (journal,
// fault injection); opts.OpenParent is supplied here and must be nil.
func Open(path string, opts disk.Options) (*Image, error) {
	if opts.OpenParent != nil {
		return nil, fmt.Errorf("image: open %s: Options.OpenParent is supplied by package image and must be nil", path)
	}
	if opts.Writable {
		if err := RefuseIfParent(path); err != nil {
			return nil, err
		}
	}
	im := &Image{path: path, layers: map[int]layer{}}
	top, f, err := im.openLayer(path, opts, 0, nil)
	if err != nil {
		im.closeAll()
		return nil, err
	}
	im.Image = top
	im.format = f
	return im, nil
}

// openLayer opens one image of the chain at depth, with seen holding the
// files of its descendants (for loop detection).
func (im *Image) openLayer(path string, opts disk.Options, depth int, seen []os.FileInfo) (disk.Image, string, error) {
	st, err := os.Stat(path)
	if err != nil && !disk.IsWindowsDevice(path) { // a raw disk has no file identity, and no parent
		return nil, "", Named(path, err)
	}
	if err == nil {
		if why := hostfile.NotImage(st.Mode()); why != "" {
			return nil, "", Named(path, errors.New(why))
		}
	}
	for _, s := range seen {
		if os.SameFile(s, st) {
			return nil, "", fmt.Errorf("%w: %s is its own ancestor", ErrChainLoop, path)
		}
	}
	seen = append(seen, st)
	b, err := opts.FileOpener().Open(path, opts.Writable)
	if err != nil {
		return nil, "", fmt.Errorf("image: open %s: %w", path, err)
	}
	im.mu.Lock()
	im.backings = append(im.backings, b)
	im.mu.Unlock()
	head, tail, size, err := readEnds(b)
	if err != nil {
		return nil, "", fmt.Errorf("image: read start and end of %s: %w", path, err)
	}
	f := probe(head, tail, size)
	lopts := opts
	lopts.OpenParent = func(ref, child string) (disk.Image, error) {
		if depth+1 >= MaxChainDepth {
			return nil, fmt.Errorf("image: %s: differencing chain deeper than %d images", child, MaxChainDepth)
		}
		p, err := ResolveParentIn(ref, child, opts.AllowParentOutside)
		if err != nil {
			return nil, err
		}
		popts := opts
		popts.Writable = false
		img, _, err := im.openLayer(p, popts, depth+1, seen)
		if err != nil {
			return nil, fmt.Errorf("image: parent of %s: %w", child, err)
		}
		return img, nil
	}
	img, err := f.Open(path, b, lopts)
	var pm *ParentMissingError
	if errors.As(err, &pm) {
		return nil, "", pm // it names the disk whose parent is missing, at any depth
	}
	if err != nil {
		return nil, "", Named(path, fmt.Errorf("not a readable %s image: %w", f.Name, err))
	}
	if depth > 0 {
		img = wrapOnce(img)
	}
	im.mu.Lock()
	im.layers[depth] = layer{img: img, format: f.Name, path: path}
	im.mu.Unlock()
	return img, f.Name, nil
}

// tailSize covers a VHD footer.
const tailSize = 512

// readEnds reads the first 64 KiB and the last 512 bytes of a file.
func readEnds(b disk.Backing) (head, tail []byte, size int64, err error) {
	size, err = b.Size()
	if err != nil {
		return nil, nil, 0, err
	}
	head = make([]byte, min(size, headSize))
	n, err := b.ReadAt(head, 0)
	if err != nil && !(errors.Is(err, io.EOF) && n == len(head)) {
		return nil, nil, 0, err
	}
	tail = make([]byte, min(size, tailSize))
	n, err = b.ReadAt(tail, size-int64(len(tail)))
	if err != nil && !(errors.Is(err, io.EOF) && n == len(tail)) {
		return nil, nil, 0, err
	}
	return head, tail, size, nil
}

// ResolveParent turns a parent reference stored in child into a host path
// that exists. Relative references (either slash) are relative to the child's
// folder; an absolute reference that does not exist here (a Windows path, or
// an image moved from another host) falls back to its base name in the
// child's folder. The error is a *ParentMissingError naming both files.
func ResolveParent(ref, child string) (string, error) {
	if ref == "" {
		return "", &ParentMissingError{Child: child}
	}
	dir := filepath.Dir(child)
	r := strings.ReplaceAll(ref, `\`, "/")
	var tries []string
	if filepath.IsAbs(ref) {
		tries = append(tries, ref)
	}
	windowsAbs := len(r) >= 2 && r[1] == ':' || strings.HasPrefix(r, "//")
	if !windowsAbs && !filepath.IsAbs(r) {
		tries = append(tries, filepath.Join(dir, filepath.FromSlash(r)))
	}
	tries = append(tries, filepath.Join(dir, r[strings.LastIndex(r, "/")+1:]))
	tries = slices.Compact(tries) // "parent.raw" relative and by base name are one place
	for _, p := range tries {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	return "", &ParentMissingError{Child: child, Ref: ref, Tried: tries}
}

// Format is the top layer's format name.
func (im *Image) Format() string { return im.format }

// Path is the path the image was opened with.
func (im *Image) Path() string { return im.path }

// Info describes the top layer.
func (im *Image) Info() disk.Info {
	c := im.Chain()
	if len(c) == 0 {
		return disk.Info{}
	}
	return c[0]
}

// Chain describes every layer, the opened image first and the base last.
func (im *Image) Chain() []disk.Info {
	im.mu.Lock()
	defer im.mu.Unlock()
	depths := make([]int, 0, len(im.layers))
	for d := range im.layers {
		depths = append(depths, d)
	}
	sort.Ints(depths)
	out := make([]disk.Info, 0, len(depths))
	for _, d := range depths {
		out = append(out, describe(im.layers[d]))
	}
	return out
}

func describe(l layer) disk.Info {
	var in disk.Info
	if d, ok := l.img.(disk.Describer); ok {
		in = d.Info()
	}
	if in.Format == "" {
		in.Format = l.format
	}
	if in.VirtualSize == 0 {
		in.VirtualSize = l.img.Size()
	}
	if len(in.Files) == 0 {
		in.Files = []string{l.path}
	}
	return in
}

// Close closes every layer and every host file opened for them.
func (im *Image) Close() error {
	im.mu.Lock()
	if im.closed {
		im.mu.Unlock()
		return nil
	}
	im.closed = true
	im.mu.Unlock()
	var err error
	if im.Image != nil {
		err = im.Image.Close()
	}
	if cerr := im.closeAll(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("image: close %s: %w", im.path, err)
	}
	return nil
}

// closeAll closes the parents (the format may already have) and the files.
func (im *Image) closeAll() error {
	im.mu.Lock()
	defer im.mu.Unlock()
	var err error
	for d := 1; d < MaxChainDepth; d++ {
		if l, ok := im.layers[d]; ok {
			l.img.Close() //nolint:errcheck // parents are read-only: nothing to lose
		}
	}
	for _, b := range im.backings {
		if cerr := b.Close(); cerr != nil && !errors.Is(cerr, os.ErrClosed) && err == nil {
			err = cerr
		}
	}
	im.backings = nil
	return err
}

// onceCloser lets both the child format and Image.Close close a parent.
type onceCloser struct {
	disk.Image
	once sync.Once
	err  error
}

func (o *onceCloser) Close() error {
	o.once.Do(func() { o.err = o.Image.Close() })
	return o.err
}

// Unwrap exposes the parent itself, so that a child format can check what
// only the parent's own type knows (VMDK's parentCID against the parent's CID).
func (o *onceCloser) Unwrap() disk.Image { return o.Image }

func (o *onceCloser) Info() disk.Info {
	if d, ok := o.Image.(disk.Describer); ok {
		return d.Info()
	}
	return disk.Info{VirtualSize: o.Size()}
}

// onceCloserMapper keeps the Mapper of a parent visible through the wrapper.
type onceCloserMapper struct {
	*onceCloser
	m disk.Mapper
}

func (o onceCloserMapper) Map(off, length int64) ([]disk.Extent, error) { return o.m.Map(off, length) }

func wrapOnce(img disk.Image) disk.Image {
	o := &onceCloser{Image: img}
	if m, ok := img.(disk.Mapper); ok {
		return onceCloserMapper{o, m}
	}
	return o
}

// Named says which file err is about, once. Errors from the format readers
// and the OS already name the file, and each layer that added it again made
// messages repeat the path two or three times; an *fs.PathError is reduced
// to "PATH: reason", without the system call's name.
func Named(path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Path == path && err == error(pe) {
		return fmt.Errorf("%s: %w", path, pe.Err)
	}
	if strings.Contains(err.Error(), path) {
		return err
	}
	return fmt.Errorf("%s: %w", path, err)
}
