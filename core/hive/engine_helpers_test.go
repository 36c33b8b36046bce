package hive

import (
	"testing"

	"github.com/pvinject/pvinject/core/internal/testenv"
)

// useEngine makes every Open in the calling test use the named engine,
// whatever PVINJECT_HIVE_ENGINE says outside. Asking for libhivex in a
// build without it skips (fails under PVINJECT_STRICT=1 on Linux with
// cgo, where it must be there).
func useEngine(t testing.TB, name string) {
	t.Helper()
	if name == EngineHivex && !haveLibhivex {
		if testenv.Strict() && cgoLinux {
			t.Fatal("PVINJECT_STRICT=1 and this build has no libhivex")
		}
		t.Skip("built without libhivex (this test did not run and is not counted as passed)")
	}
	t.Setenv(EngineEnv, name)
}
