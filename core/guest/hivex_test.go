//go:build cgo

package guest

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	hivex "github.com/gabriel-samfira/go-hivex"
)

// hivexHive adapts libhivex (an independent reader) to Hive for tests,
// until core/hive exists. go-hivex reports a stale errno as an error even
// on success, so results are judged by their handles, not by err alone.
type hivexHive struct{ h *hivex.Hivex }

func hivexOpener(t testing.TB) HiveOpener {
	return func(name string, data []byte, logs ...LogFile) (Hive, error) {
		p := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			return nil, err
		}
		h, err := hivex.NewHivex(p, hivex.READ)
		if h == nil || err != nil {
			return nil, fmt.Errorf("hivex: opening %s: %v", name, err)
		}
		t.Cleanup(func() { h.Close() })
		return hivexHive{h}, nil
	}
}

func (x hivexHive) node(path string) (int64, error) {
	n, err := x.h.Root()
	if n == 0 {
		return 0, fmt.Errorf("hivex root: %v", err)
	}
	for _, el := range strings.Split(path, `\`) {
		if el == "" {
			continue
		}
		c, _ := x.h.NodeGetChild(n, el)
		if c == 0 {
			return 0, fmt.Errorf("key %s: %w", path, fs.ErrNotExist)
		}
		n = c
	}
	return n, nil
}

func (x hivexHive) Subkeys(path string) ([]string, error) {
	n, err := x.node(path)
	if err != nil {
		return nil, err
	}
	kids, _ := x.h.NodeChildren(n)
	var out []string
	for _, k := range kids {
		name, _ := x.h.NodeName(k)
		out = append(out, name)
	}
	return out, nil
}

func (x hivexHive) Values(path string) ([]Value, error) {
	n, err := x.node(path)
	if err != nil {
		return nil, err
	}
	vals, _ := x.h.NodeValues(n)
	var out []Value
	for _, v := range vals {
		name, _ := x.h.NodeValueKey(v)
		typ, data, _ := x.h.ValueValue(v)
		out = append(out, Value{Name: name, Type: uint32(typ), Data: data})
	}
	return out, nil
}
