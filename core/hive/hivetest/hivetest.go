// Package hivetest renders registry hives with independent tools
// (libhivex's hivexregedit, libregf's regfexport), for tests that compare
// what two hive engines wrote. It is imported only by tests.
package hivetest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pvinject/pvinject/core/internal/testenv"
)

// Render is how both independent tools show a hive, or the subtrees at
// keys when given: hivexregedit --export, then regfexport (each with its
// key blocks sorted, see canonical), as one text.
func Render(t testing.TB, data []byte, keys ...string) string {
	t.Helper()
	testenv.RequireTool(t, "hivexregedit", "regfexport")
	p := filepath.Join(t.TempDir(), "hive")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if len(keys) == 0 {
		keys = []string{""}
	}
	var out strings.Builder
	for _, k := range keys {
		out.WriteString("== hivexregedit " + k + "\n")
		out.WriteString(canonical(run(t, "hivexregedit", "--export", p, `\`+k), "["))
		out.WriteString("== regfexport " + k + "\n")
		args := []string{p}
		if k != "" {
			args = []string{"-K", k, p}
		}
		out.WriteString(canonical(run(t, "regfexport", args...), "Key path: "))
	}
	return out.String()
}

// run returns a tool's output; a key that does not exist is rendered as
// the tool's complaint, which both engines' hives must then share.
func run(t testing.TB, tool string, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(tool, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := stderr.String()
		if tool == "hivexregedit" && strings.Contains(msg, "not found") {
			return "absent\n"
		}
		t.Fatalf("%s %v: %v\n%s", tool, args, err, msg)
	}
	return stdout.String()
}

// canonical sorts the key blocks of an export (each starts with a line
// beginning with header) by their upper-cased first line, keeping each
// block's lines (its values, in stored order) as they are. Subkey order is
// left out on purpose: libhivex places a new key with strcasecmp, which
// folds to lower case, while Windows (and the pure-Go engine) sort by
// upper case, so names with one of [\]^_` sort differently; the pure-Go
// engine's order is checked against Windows' rule by its own test.
func canonical(s, header string) string {
	var blocks []string
	var cur strings.Builder
	for _, line := range strings.SplitAfter(s, "\n") {
		if strings.HasPrefix(line, header) && cur.Len() > 0 {
			blocks = append(blocks, cur.String())
			cur.Reset()
		}
		cur.WriteString(line)
	}
	if cur.Len() > 0 {
		blocks = append(blocks, cur.String())
	}
	key := func(b string) string {
		first, _, _ := strings.Cut(b, "\n")
		return strings.ToUpper(first)
	}
	slices.SortStableFunc(blocks, func(a, b string) int { return strings.Compare(key(a), key(b)) })
	return strings.Join(blocks, "")
}

// FirstDiff describes where two renderings part, for test failures.
func FirstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			lo := max(0, i-3)
			return "line " + strconv.Itoa(i+1) + ":\n  first:  " + strings.Join(al[lo:min(len(al), i+1)], "\n          ") +
				"\n  second: " + strings.Join(bl[lo:min(len(bl), i+1)], "\n          ")
		}
	}
	return "identical"
}
