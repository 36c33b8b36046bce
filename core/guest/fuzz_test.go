package guest

import (
	"strings"
	"testing"
	"testing/fstest"
)

// FuzzDetect runs the whole detection on an in-memory volume whose hives
// hold fuzzed values in every key detection reads, and whose cmd.exe and
// driver file are fuzzed bytes. It must never panic, and what it reports
// must stay within the known vocabularies.
func FuzzDetect(f *testing.F) {
	f.Add([]byte("MZ"), uint32(RegDword), []byte{1, 0, 0, 0}, sz("", "AMD64").Data, sz("", "6.3").Data, []byte{1, 0, 0, 0})
	f.Add([]byte{}, uint32(RegSz), sz("", "2").Data, sz("", "x86").Data, sz("", "Service Pack 1").Data, sz("", "a\x00b").Data)
	f.Fuzz(func(t *testing.T, cmd []byte, typ uint32, a, b, c, d []byte) {
		vol := fstest.MapFS{
			"Windows/System32/cmd.exe":             {Data: cmd},
			"Windows/System32/config/SYSTEM":       {Data: []byte("s")},
			"Windows/System32/config/SOFTWARE":     {Data: []byte("s")},
			"Windows/System32/drivers/viostor.sys": {Data: d},
			"boot.ini":                             {Data: c},
		}
		v := func(name string, data []byte) Value { return Value{Name: name, Type: typ, Data: data} }
		sys := memHive{
			"select":        {v("Current", a), v("Default", b), v("LastKnownGood", a)},
			"controlset001": nil, "controlset001\\control": nil, "controlset001\\control\\session manager": {v("PendingFileRenameOperations", c)},
			"controlset001\\control\\session manager\\environment": {v("PROCESSOR_ARCHITECTURE", b)},
			"controlset001\\control\\session manager\\power":       {v("HiberbootEnabled", a)},
			"controlset001\\control\\windows":                      {v("CSDVersion", a)},
			"controlset001\\services":                              nil,
			"controlset001\\services\\viostor":                     {v("ImagePath", c), v("Start", a)},
			"controlset001\\services\\viostor\\startoverride":      {v("0", a)},
		}
		sw := memHive{
			"microsoft": nil, "microsoft\\windows nt": nil,
			"microsoft\\windows nt\\currentversion": {v("ProductName", b), v("CurrentVersion", c), v("CurrentBuildNumber", d),
				v("CSDVersion", c), v("InstallationType", b), v("CurrentMajorVersionNumber", a), v("CurrentMinorVersionNumber", a), v("UBR", a)},
			"policies\\microsoft\\windows\\deviceinstall\\restrictions": {v("DenyUnspecified", a)},
			"microsoft\\windows\\currentversion\\uninstall":             nil,
			"microsoft\\windows\\currentversion\\uninstall\\x":          {v("DisplayName", b), v("DisplayVersion", c)},
		}
		open := func(name string, _ []byte, _ ...LogFile) (Hive, error) {
			if strings.EqualFold(name, "SYSTEM") {
				return sys, nil
			}
			return sw, nil
		}
		ws, err := Detect(vol, open)
		if err != nil {
			return
		}
		for _, w := range ws {
			if w.OSID != "" && virtioDirs[w.OSID] != w.VirtioDir {
				t.Fatalf("os id %q with virtio dir %q", w.OSID, w.VirtioDir)
			}
			switch w.Arch {
			case ArchUnknown, ArchX86, ArchAMD64, ArchARM64:
			default:
				t.Fatalf("arch %q", w.Arch)
			}
		}
	})
}
