package ntfs

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"sort"
	"strings"
)

// VerifyError lists the files that did not read back as written.
type VerifyError struct {
	Problems map[string]string // path -> what is wrong
}

func (e *VerifyError) Error() string {
	paths := make([]string, 0, len(e.Problems))
	for p := range e.Problems {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var b strings.Builder
	fmt.Fprintf(&b, "ntfs: verification failed for %d file(s):", len(paths))
	for _, p := range paths {
		fmt.Fprintf(&b, " %s (%s);", p, e.Problems[p])
	}
	return strings.TrimSuffix(b.String(), ";")
}

// Verify opens the volume afresh, read-only, and checks that every file in
// written reads back with the given SHA-256. It reports all mismatches.
func Verify(dev io.ReaderAt, size int64, written map[string][sha256.Size]byte) error {
	v, err := Open(dev, size, Options{})
	if err != nil {
		return fmt.Errorf("ntfs: verify: reopen: %w", err)
	}
	defer v.Close()
	ve := &VerifyError{Problems: map[string]string{}}
	for p, want := range written {
		b, err := v.ReadFile(p)
		if err != nil {
			ve.Problems[p] = err.Error()
			continue
		}
		if got := sha256.Sum256(b); !bytes.Equal(got[:], want[:]) {
			ve.Problems[p] = fmt.Sprintf("sha256 %x, want %x", got, want)
		}
	}
	if len(ve.Problems) > 0 {
		return ve
	}
	return nil
}
