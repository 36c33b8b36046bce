//go:build cgo && !nonative && (linux || windows || darwin)

package ui

func callNativeForTest(fn func() (string, error)) (string, error) { return callNative(fn) }
