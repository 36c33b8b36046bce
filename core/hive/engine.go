package hive

// node is a libhivex node handle: the file offset of an nk cell. It is only
// meaningful for the engine that returned it.
type node uint64

// engine is what Hive needs from libhivex. Keeping it this narrow lets the
// cgo binding live in one build-tagged file, and lets the !cgo build
// compile with a stub that only reports how to get libhivex.
//
// Every method copies what it returns into Go memory and frees the C side,
// so nothing handed to callers aliases library memory.
type engine interface {
	root() (node, error)
	// child looks a subkey up case-insensitively; ok is false when absent.
	child(parent node, name string) (n node, ok bool, err error)
	children(n node) ([]node, error)
	name(n node) (string, error)
	values(n node) ([]NamedValue, error)
	addChild(parent node, name string) (node, error)
	deleteChild(n node) error
	// setValues replaces ALL values of n with vals (libhivex semantics).
	setValues(n node, vals []NamedValue) error
	commit() error
	close() error
}
