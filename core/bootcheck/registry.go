package bootcheck

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"

	"github.com/pvinject/pvinject/core/hive"
)

// regReader is what both of core/hive's readers (the whole-file Hive and
// the in-place Lazy) answer.
type regReader interface {
	Subkeys(path string) ([]string, error)
	Values(path string) ([]hive.NamedValue, error)
}

// reg reads keys leniently: a missing key is "not found", never an error,
// and read errors are kept so the verdict can say the hive is damaged
// rather than guess.
type reg struct {
	r    regReader
	errs []error
}

func (g *reg) keep(path string, err error) {
	if err != nil && !errors.Is(err, hive.ErrNotFound) && len(g.errs) < 8 {
		g.errs = append(g.errs, fmt.Errorf("reading %s: %w", path, err))
	}
}

// values returns the key's values by lower-case name; ok is false when the
// key does not exist.
func (g *reg) values(path string) (map[string]hive.Value, bool) {
	vals, err := g.r.Values(path)
	if err != nil {
		g.keep(path, err)
		return nil, false
	}
	m := make(map[string]hive.Value, len(vals))
	for _, v := range vals {
		m[strings.ToLower(v.Name)] = v.Value
	}
	return m, true
}

func (g *reg) subkeys(path string) []string {
	s, err := g.r.Subkeys(path)
	g.keep(path, err)
	return s
}

func (g *reg) exists(path string) bool {
	_, err := g.r.Values(path)
	if err != nil {
		g.keep(path, err)
		return false
	}
	return true
}

// str decodes a string value; some writers store strings as REG_BINARY or
// REG_NONE, which Windows reads the same way.
func str(m map[string]hive.Value, name string) (string, bool) {
	v, ok := m[strings.ToLower(name)]
	if !ok {
		return "", false
	}
	if s, err := v.String(); err == nil {
		return strings.TrimSpace(s), true
	}
	if v.Type == hive.RegBinary || v.Type == hive.RegNone || v.Type == hive.RegMultiSZ {
		u := make([]uint16, len(v.Data)/2)
		for i := range u {
			u[i] = uint16(v.Data[2*i]) | uint16(v.Data[2*i+1])<<8
		}
		s := string(utf16.Decode(u))
		if i := strings.IndexByte(s, 0); i >= 0 {
			s = s[:i]
		}
		return strings.TrimSpace(s), true
	}
	return "", false
}

func num(m map[string]hive.Value, name string) (uint64, bool) {
	v, ok := m[strings.ToLower(name)]
	if !ok {
		return 0, false
	}
	n, err := v.Uint64()
	return n, err == nil
}

func multi(m map[string]hive.Value, name string) []string {
	v, ok := m[strings.ToLower(name)]
	if !ok {
		return nil
	}
	s, _ := v.Fields()
	return s
}
