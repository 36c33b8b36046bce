package inf_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pvinject/pvinject/core/drivers/inf"
	"github.com/pvinject/pvinject/core/internal/testenv"
)

// FuzzParse feeds arbitrary bytes through Parse and every accessor. Seeds:
// testdata, a few hand-written lines, and (when present) the corpus INFs,
// read at run time and never committed.
func FuzzParse(f *testing.F) {
	if b, err := os.ReadFile("testdata/syntax.inf"); err == nil {
		f.Add(b)
	}
	for _, s := range []string{
		"[Version]\nSignature=\"$Windows NT$\"\n[Manufacturer]\nA=B,NTamd64.10.0...14393\n[B.NTamd64.10.0...14393]\nd=i,PCI\\X\n[i]\nCopyFiles=@a.sys\n[i.Services]\nAddService=s,2,ss\n[ss]\nStartType=0\nAddReg=r\n[r]\nHKR,a,b,1,\\\n01,02\n",
		"[Version]\nSignature=\"$Chicago$\"\nDriverVer=1/1/2000,1.2.3.4\n[Strings]\nx=\"a\"\"b\"\n[Strings.0407]\nx=%%\n",
		"\xff\xfe[\x00V\x00",
		"[Version]\nSignature=\"$Windows NT$\";\"\n[\n]\n\\",
	} {
		f.Add([]byte(s))
	}
	if dir := testenv.CorpusDir(); dir != "" {
		_ = filepath.WalkDir(filepath.Join(dir, "inf"), func(p string, d os.DirEntry, err error) error {
			// Small files only: the fuzzer minimizes every new interesting
			// input, and a 17 KiB seed makes that outlast a 10 s CI run.
			if err == nil && !d.IsDir() {
				if b, err := os.ReadFile(p); err == nil && len(b) <= 4096 {
					f.Add(b)
				}
			}
			return nil
		})
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tm := time.AfterFunc(10*time.Second, func() { panic(fmt.Sprintf("HANG %q", b)) })
		defer tm.Stop()
		file, err := inf.Parse("fuzz.inf", b, inf.Options{AllowTemplate: true, LCIDs: []uint16{0x0407}})
		if err != nil {
			return
		}
		for _, a := range []inf.Arch{inf.ArchX86, inf.ArchAMD64} {
			_ = file.Version.CatalogFor(a)
			sel, _ := file.ModelsFor(inf.OS{Arch: a, Major: 10, Build: 20348, ProductType: 3})
			for _, m := range sel.Models {
				in, err := file.Install(m.InstallSection, a)
				if err != nil {
					continue
				}
				for _, s := range in.Services {
					_, _ = s.ImagePath()
					_ = s.DriverFile()
				}
				for _, op := range in.HWAddReg {
					_ = op.Value.Bytes()
				}
			}
		}
		_ = file.AllModels()
		_ = file.SourceFiles()
		_ = strings.TrimSpace(file.Version.DriverVerText)
	})
}
