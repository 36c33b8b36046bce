package bootcheck

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/pvinject/pvinject/core/drivers"
	"github.com/pvinject/pvinject/core/hive"
)

// BCD object and element ids (Microsoft, "BCD WMI provider: BcdLibrary /
// BcdBootMgr / BcdOSLoader element types"; bcdedit /enum shows them).
const (
	bcdBootMgr      = "{9dea862c-5cdd-4e70-acc1-f32b344d4795}"
	elemDefault     = "23000003" // BcdBootMgrObject_DefaultObject
	elemInherit     = "14000006" // BcdLibraryObjectList_InheritedObjects
	elemTestSigning = "16000049" // BcdLibraryBoolean_AllowPrereleaseSignatures
)

// testSigning reads testsigning from the default loader entry of the first
// BCD store that opens, following its inherited objects.
func (c *checker) testSigning() {
	for _, st := range c.in.BCD {
		h, err := hive.OpenReadOnly("BCD", st.Data, st.Logs...)
		if err != nil {
			c.res.Problems = append(c.res.Problems, fmt.Sprintf("the boot configuration store (%s) cannot be read: %v", st.Where, err))
			continue
		}
		g := &reg{r: h}
		on, found := bcdTestSigning(g)
		h.Close()
		c.res.BCD = st.Where
		c.res.TestSigning = "off"
		if found && on {
			c.res.TestSigning = "on"
		}
		return
	}
}

func bcdTestSigning(g *reg) (on, found bool) {
	mgr, ok := g.values(`Objects\` + bcdBootMgr + `\Elements\` + elemDefault)
	def, _ := str(mgr, "Element")
	if !ok || def == "" {
		return false, false
	}
	seen := map[string]bool{}
	var walk func(obj string, depth int) (bool, bool)
	walk = func(obj string, depth int) (bool, bool) {
		if depth > 4 || seen[strings.ToLower(obj)] {
			return false, false
		}
		seen[strings.ToLower(obj)] = true
		if e, ok := g.values(`Objects\` + obj + `\Elements\` + elemTestSigning); ok {
			if v, ok := e["element"]; ok && len(v.Data) > 0 {
				return v.Data[0] != 0, true
			}
		}
		inh, _ := g.values(`Objects\` + obj + `\Elements\` + elemInherit)
		for _, o := range multi(inh, "Element") {
			if on, found := walk(o, depth+1); found {
				return on, true
			}
		}
		return false, false
	}
	return walk(def, 0)
}

// catRoot is where Windows keeps the catalogs of installed driver packages
// (oemNN.cat, written by PnP and pnputil) and of Windows itself.
const catRoot = "System32/CatRoot/{F750E6C3-38EE-11D1-85E5-00C04FC295EE}"

// catalogFor names a structurally valid catalog in CatRoot that lists the
// driver file, "" when none does. Only oemNN.cat and <service>.cat are
// read: Windows' own catalogs (thousands) never list a third-party driver.
// Structural only, as core/drivers' signing check: no hash or chain is
// verified.
func (c *checker) catalogFor(svc, file string) string {
	if c.cats == nil {
		c.cats = map[string][]byte{}
		dir, _, err := resolve(c.in.FS, strings.Trim(c.in.SystemRoot, "/")+"/"+catRoot)
		if err == nil {
			ents, _ := c.in.FS.ReadDir(dir)
			for _, e := range ents {
				n := strings.ToLower(e.Name())
				if e.IsDir() || !strings.HasSuffix(n, ".cat") || !(strings.HasPrefix(n, "oem") || strings.TrimSuffix(n, ".cat") == strings.ToLower(svc)) {
					continue
				}
				b, err := readGuestFile(c.in.FS, dir+"/"+e.Name(), drivers.MaxCatalogSize)
				if err != nil {
					continue
				}
				if _, err := drivers.CheckCatalog(b); err == nil {
					c.cats[e.Name()] = b
				}
			}
		}
	}
	want := strings.ToLower(file)
	le, be := utf16Bytes(want, false), utf16Bytes(want, true)
	for name, b := range c.cats {
		low := bytes.ToLower(b)
		if bytes.Contains(low, le) || bytes.Contains(low, be) || bytes.Contains(low, []byte(want)) {
			return name
		}
	}
	return ""
}

func utf16Bytes(s string, bigEndian bool) []byte {
	var out []byte
	for _, r := range s {
		if r > 0x7f {
			r = '?'
		}
		if bigEndian {
			out = append(out, 0, byte(r))
		} else {
			out = append(out, byte(r), 0)
		}
	}
	return out
}

func hiveLog(suffix string, data []byte) hive.LogFile {
	return hive.LogFile{Name: "BCD" + suffix, Data: data}
}
