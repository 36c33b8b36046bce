package firstboot

import (
	"strings"
	"testing"
)

func TestScriptTreats259And3010AsSuccess(t *testing.T) {
	s, err := Script(testConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`if "!RC!"=="259" goto :installed`, `if "!RC!"=="3010" (`, "\r\n"} {
		if !strings.Contains(s, want) {
			t.Errorf("script lacks %q", want)
		}
	}
	if strings.Contains(strings.ReplaceAll(s, "\r\n", ""), "\n") {
		t.Error("script has a bare LF line ending; cmd.exe scripts are CRLF")
	}
	if strings.Contains(strings.ToLower(s), "powershell") {
		t.Error("script uses PowerShell, which XP and 2003 lack")
	}
}

func TestValidateRejectsInjection(t *testing.T) {
	bad := []Config{
		{Packages: []Package{{Name: "x&calc", INF: `a.inf`}}},
		{Packages: []Package{{Name: "x", INF: `..\..\evil.inf`}}},
		{Packages: []Package{{Name: "x", INF: `a.inf" & del *`}}},
		{NICMatch: []string{`VEN"`}},
		{JumboPacket: 100},
		{JumboPacket: 70000},
		{WriteCache: "maybe"},
		{Commands: []Command{{Name: "u", Line: "a\r\nb"}}},
	}
	for i, c := range bad {
		if _, err := Script(c); err == nil {
			t.Errorf("case %d: Script accepted %+v", i, c)
		}
	}
}
