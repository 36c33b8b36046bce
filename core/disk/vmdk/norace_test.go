//go:build !race

package vmdk_test

const raceEnabled = false
