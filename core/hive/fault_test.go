package hive

import (
	"errors"
	"testing"
)

// lyingEngine wraps libhivex to simulate its failures and silent bugs.
type lyingEngine struct {
	engine
	failSet bool // setValue(s) fails
	corrupt bool // setValue(s) stores different data than asked
	dropKey bool // addChild reports success but creates nothing lasting
}

var errInjected = errors.New("injected libhivex failure")

func (e *lyingEngine) setValues(n node, vals []NamedValue) error {
	if e.failSet {
		return errInjected
	}
	if e.corrupt && len(vals) > 0 {
		vals = append([]NamedValue{}, vals...)
		last := &vals[len(vals)-1]
		last.Value = Value{Type: last.Type, Data: append([]byte{0xEE}, last.Data[1:]...)}
	}
	return e.engine.setValues(n, vals)
}

func (e *lyingEngine) setValue(n node, v NamedValue) error {
	if e.failSet {
		return errInjected
	}
	if e.corrupt && len(v.Data) > 0 {
		v.Value = Value{Type: v.Type, Data: append([]byte{0xEE}, v.Data[1:]...)}
	}
	return e.engine.setValue(n, v)
}

func (e *lyingEngine) addChild(parent node, name string) (node, error) {
	if e.dropKey {
		return parent, nil // pretend; later edits land on the parent
	}
	return e.engine.addChild(parent, name)
}

func TestStickyFailure(t *testing.T) {
	h := mustOpen(t, "values", fixture(t, "values.hive"))
	le := &lyingEngine{engine: h.eng, failSet: true}
	h.eng = le
	if err := h.SetValue(`Types`, "x", DWord(1)); !errors.Is(err, errInjected) {
		t.Fatalf("SetValue: %v", err)
	}
	le.failSet = false
	if err := h.SetValue(`Types`, "y", DWord(1)); !errors.Is(err, errInjected) {
		t.Errorf("write after a failed edit: %v, want the sticky error", err)
	}
	if _, err := h.Commit(); !errors.Is(err, errInjected) {
		t.Errorf("Commit after a failed edit: %v, want the sticky error", err)
	}
	if _, err := h.Get(`Types`, "DWord"); err != nil {
		t.Errorf("reads still work: %v", err)
	}
}

// The pure-Go verification must catch a library that writes the wrong
// bytes or drops a key while reporting success.
func TestCommitCatchesLibraryBugs(t *testing.T) {
	for name, le := range map[string]*lyingEngine{
		"wrong data":  {corrupt: true},
		"dropped key": {dropKey: true},
	} {
		t.Run(name, func(t *testing.T) {
			h := mustOpen(t, "values", fixture(t, "values.hive"))
			le.engine = h.eng
			h.eng = le
			if err := h.SetValue(`Brand\New`, "v", Binary([]byte{1, 2, 3, 4, 5, 6})); err != nil {
				t.Fatal(err)
			}
			if _, err := h.Commit(); !errors.Is(err, ErrVerify) {
				t.Fatalf("Commit: %v, want ErrVerify", err)
			}
		})
	}
}
