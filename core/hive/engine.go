package hive

// node is a libhivex node handle: the file offset of an nk cell. It is only
// meaningful for the engine that returned it.
type node uint64

// vhandle is a libhivex value handle (the offset of a vk cell). libhivex
// rewrites every vk record of a key when one of its values changes, so a
// vhandle is only good until the next edit of its key.
type vhandle uint64

// valueSize is a value's handle and data length, read without copying its
// name or data out of the library.
type valueSize struct {
	v    vhandle
	size int
}

// engine is what Hive needs from libhivex. Keeping it this narrow lets the
// go-hivex binding live in one build-tagged file behind the traps it needs
// routed around, and lets the !cgo build compile with a stub that only
// reports how to get libhivex.
//
// Everything returned is Go memory: nothing handed to callers aliases
// library memory.
type engine interface {
	root() (node, error)
	// child looks a subkey up, ASCII case-insensitively (libhivex's own
	// comparison); ok is false when absent.
	child(parent node, name string) (n node, ok bool, err error)
	children(n node) ([]node, error)
	name(n node) (string, error)
	// value looks one value up, ASCII case-insensitively; ok is false when
	// absent.
	value(n node, name string) (v vhandle, ok bool, err error)
	valueName(n node, v vhandle) (string, error)
	valueData(v vhandle) (Value, error)
	// valueSizes lists n's values and their data lengths, without copying
	// names or data.
	valueSizes(n node) ([]valueSize, error)
	values(n node) ([]NamedValue, error)
	addChild(parent node, name string) (node, error)
	deleteChild(n node) error
	// setValue replaces the value stored under exactly v.Name, or adds it,
	// keeping every other value of n.
	setValue(n node, v NamedValue) error
	// setValues replaces ALL values of n with vals (libhivex semantics).
	setValues(n node, vals []NamedValue) error
	commit() error
	// contents is the whole hive file as last committed, in memory the
	// caller owns.
	contents() ([]byte, error)
	close() error
	// limits says what the engine cannot write.
	limits() engineLimits
}
