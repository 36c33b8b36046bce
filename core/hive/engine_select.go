package hive

import (
	"fmt"
	"os"
	"strings"
)

// EngineEnv names the environment variable that chooses the hive engine:
// "go" for the pure-Go engine, "hivex" for libhivex. Unset (or empty), a
// build with libhivex uses libhivex and any other build the pure-Go one.
const EngineEnv = "PVINJECT_HIVE_ENGINE"

// Engine names, as EngineName returns them and EngineEnv takes them.
const (
	EngineGo    = "go"
	EngineHivex = "hivex"
)

// EngineName says which engine Open uses: EngineGo or EngineHivex; an
// unusable EngineEnv value is reported as an error by Open, and here as
// the engine that would run without it followed by a note.
func EngineName() string {
	name, err := engineChoice()
	if err != nil {
		return defaultEngine() + " (" + err.Error() + ")"
	}
	return name
}

// EngineDescription is EngineName in words for `--version`.
func EngineDescription() string {
	name, err := engineChoice()
	switch {
	case err != nil:
		return EngineName()
	case name == EngineHivex:
		return "libhivex (" + EngineHivex + ")"
	default:
		return "pure Go (" + EngineGo + ")"
	}
}

func engineChoice() (string, error) {
	v := strings.ToLower(strings.TrimSpace(os.Getenv(EngineEnv)))
	switch v {
	case "":
		return defaultEngine(), nil
	case EngineGo:
		return EngineGo, nil
	case EngineHivex, "libhivex":
		if !haveLibhivex {
			return "", fmt.Errorf("%s=%s asks for libhivex, which this build does not include: %w", EngineEnv, v, ErrNoLibhivex)
		}
		return EngineHivex, nil
	}
	return "", fmt.Errorf("%s=%q: want %q or %q", EngineEnv, v, EngineGo, EngineHivex)
}

func defaultEngine() string {
	if haveLibhivex {
		return EngineHivex
	}
	return EngineGo
}

// engineLimits says what an engine cannot write, so Hive refuses such
// edits before any byte changes.
type engineLimits struct {
	// noBigData: values over 16344 bytes in a 1.4+ hive (they need
	// big-data records) and cells near 1 MB.
	noBigData bool
	// noEmptyData: zero-length data, and value names with a NUL.
	noEmptyData bool
}
