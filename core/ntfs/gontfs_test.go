package ntfs

import (
	"io"
	"os"
	"testing"

	"www.velocidex.com/golang/go-ntfs/parser"
)

// goNTFSSum reads a file with go-ntfs (Velocidex), an independent Go NTFS
// parser, and returns its sha256.
func goNTFSSum(t *testing.T, img, p string) string {
	t.Helper()
	f, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pr, err := parser.NewPagedReader(f, 4096, 1024)
	if err != nil {
		t.Fatal(err)
	}
	ctx, err := parser.GetNTFSContext(pr, 0)
	if err != nil {
		t.Fatalf("go-ntfs: open %s: %v", img, err)
	}
	r, err := parser.GetDataForPath(ctx, p)
	if err != nil {
		t.Errorf("go-ntfs: %s: %v", p, err)
		return ""
	}
	b, err := io.ReadAll(io.NewSectionReader(r, 0, 1<<40))
	if err != nil {
		t.Errorf("go-ntfs: read %s: %v", p, err)
	}
	return sha(b)
}
