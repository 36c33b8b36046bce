package bootcheck

import (
	"encoding/binary"
	"testing"
)

// pe32 builds the smallest header readPE looks at: MZ, e_lfanew, PE\0\0,
// Machine, optional header magic and 16 data directories.
func pe32(machine uint16, plus bool) []byte {
	optSize := 224
	magic := uint16(0x10b)
	if plus {
		optSize, magic = 240, 0x20b
	}
	b := make([]byte, 0x40+24+optSize)
	copy(b, "MZ")
	binary.LittleEndian.PutUint32(b[0x3c:], 0x40)
	copy(b[0x40:], "PE\x00\x00")
	binary.LittleEndian.PutUint16(b[0x44:], machine)
	binary.LittleEndian.PutUint16(b[0x54:], uint16(optSize))
	binary.LittleEndian.PutUint16(b[0x58:], magic)
	return b
}

func TestReadPE(t *testing.T) {
	far := pe32(machineI386, false)
	binary.LittleEndian.PutUint32(far[0x3c:], 1<<30)
	for _, c := range []struct {
		name string
		b    []byte
		arch string
		err  bool
	}{
		{"x86", pe32(machineI386, false), "x86", false},
		{"amd64", pe32(machineAMD64, true), "amd64", false},
		{"arm64", pe32(machineARM64, true), "arm64", false},
		{"ia64", pe32(0x200, true), "machine 0x0200", false},
		{"text", []byte("this is not a PE file at all, just some words to fill sixty four bytes...."), "", true},
		{"short", []byte("MZ"), "", true},
		{"lfanew past end", far, "", true},
	} {
		pi, err := readPE(c.b)
		if (err != nil) != c.err || pi.Arch != c.arch {
			t.Errorf("%s: arch %q err %v", c.name, pi.Arch, err)
		}
		if err == nil && pi.Signed {
			t.Errorf("%s: signed without a certificate table", c.name)
		}
	}
	// A certificate table pointing outside the file is not a signature.
	b := pe32(machineAMD64, true)
	binary.LittleEndian.PutUint32(b[0x40+24+112+32:], uint32(len(b)))
	binary.LittleEndian.PutUint32(b[0x40+24+112+36:], 64)
	if pi, err := readPE(b); err != nil || pi.Signed || pi.SignReason == "" {
		t.Errorf("dangling certificate table: %+v %v", pi, err)
	}
}

func TestImagePath(t *testing.T) {
	c := &checker{in: Input{SystemRoot: "Windows"}}
	for in, want := range map[string]string{
		"":                                      "Windows/System32/drivers/viostor.sys",
		`system32\drivers\viostor.sys`:          "Windows/system32/drivers/viostor.sys",
		`\SystemRoot\System32\drivers\x.sys`:    "Windows/System32/drivers/x.sys",
		`%SystemRoot%\System32\drivers\y.sys`:   "Windows/System32/drivers/y.sys",
		`\??\C:\Windows\System32\drivers\z.sys`: "Windows/System32/drivers/z.sys",
		`C:\Drivers\w.sys`:                      "Drivers/w.sys",
		`"\Windows\System32\drivers\q.sys"`:     "Windows/System32/drivers/q.sys",
	} {
		if got, _ := c.imagePath("viostor", in); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}

func TestPatternMatch(t *testing.T) {
	p := pattern{Enum: "PCI", Prefix: "VEN_1AF4&DEV_1001"}
	for rest, want := range map[string]bool{
		"VEN_1AF4&DEV_1001":                        true,
		"ven_1af4&dev_1001&SUBSYS_00021AF4&REV_00": true,
		"VEN_1AF4&DEV_10010":                       false,
		"VEN_1AF4&DEV_1004&SUBSYS_00081AF4&REV_00": false,
	} {
		if p.match("pci", rest) != want {
			t.Errorf("%s: want %v", rest, want)
		}
	}
	if !(pattern{Enum: "XENBUS", Contains: "&DEV_VBD"}).match("XENBUS", "VEN_XP0001&DEV_VBD&REV_08000009") {
		t.Error("XENBUS vbd id not matched")
	}
}
