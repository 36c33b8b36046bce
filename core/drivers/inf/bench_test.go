package inf_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/pvinject/pvinject/core/drivers/inf"
	"github.com/pvinject/pvinject/core/internal/testenv"
)

// BenchmarkParseCorpus parses every INF of the shared corpus (built ones,
// templates with AllowTemplate) and resolves models and install sections.
func BenchmarkParseCorpus(b *testing.B) {
	dir := filepath.Join(testenv.Corpus(b), "inf")
	var files [][]byte
	var names []string
	total := 0
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			data, err := os.ReadFile(p)
			if err == nil {
				files = append(files, data)
				names = append(names, filepath.Base(p))
				total += len(data)
			}
		}
		return nil
	})
	if len(files) == 0 {
		b.Fatal("no corpus INFs")
	}
	b.SetBytes(int64(total))
	b.ReportAllocs()
	o := inf.OS{Arch: inf.ArchAMD64, Major: 10, Build: 20348, ProductType: inf.ProductServer}
	for b.Loop() {
		for i, data := range files {
			f, err := inf.Parse(names[i], data, inf.Options{AllowTemplate: true})
			if err != nil {
				continue
			}
			sel, _ := f.ModelsFor(o)
			for _, m := range sel.Models {
				_, _ = f.Install(m.InstallSection, inf.ArchAMD64)
			}
		}
	}
	b.ReportMetric(float64(len(files)), "files/op")
}
