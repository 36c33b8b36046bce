//go:build !cgo || !linux

package hive

// haveLibhivex: without cgo on Linux this build has no libhivex, and the
// pure-Go engine does all the work.
const haveLibhivex = false

func openHivex(path string, write bool) (engine, error) { return nil, ErrNoLibhivex }
