package inject

import "strings"

// windowsQuote quotes a path for the "To undo" command on Windows so that
// it pastes into cmd.exe and PowerShell alike: double quotes, which both
// take as quoting (cmd.exe passes single quotes on as part of the name),
// and only when a character needs them. Windows names cannot contain '"'.
func windowsQuote(s string) string {
	if s == "" || strings.ContainsAny(s, " \t&()[]{}^=;!'+,`~$%@#|<>") {
		return `"` + s + `"`
	}
	return s
}
