//go:build !cgo || !linux

package hive

const cgoLinux = false
