//go:build !cgo

package hive

func openEngine(path string, write bool) (engine, error) { return nil, ErrNoLibhivex }
