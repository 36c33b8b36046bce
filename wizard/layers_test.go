package wizard_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/pvinject/pvinject/internal/testenv"
)

const module = "github.com/pvinject/pvinject/"

// deps lists the packages patterns build from (not their tests), as the go
// tool resolves them.
func deps(t *testing.T, patterns ...string) []string {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-deps"}, patterns...)...)
	cmd.Dir = testenv.RepoRoot()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps %v: %v", patterns, err)
	}
	return strings.Fields(string(out))
}

// The layers hold: the screens reach the core only through the wizard's
// Engine interface (so go-hivex, go-diskfs and every format stay out of the
// UI and the wizard's rules can be tested without them), and the core never
// depends on Fyne.
func TestLayers(t *testing.T) {
	testenv.RequireTool(t, "go")
	for _, p := range deps(t, "./ui/...", "./wizard", "./wizard/wizardtest") {
		if strings.HasPrefix(p, module+"core/") || p == module+"assets" {
			t.Errorf("ui or wizard depends on %s: only wizard/engine may import the core", p)
		}
	}
	for _, p := range deps(t, "./core/...") {
		if strings.HasPrefix(p, "fyne.io/") || strings.HasPrefix(p, module+"ui") || strings.HasPrefix(p, module+"wizard") {
			t.Errorf("the core depends on %s", p)
		}
	}
}
