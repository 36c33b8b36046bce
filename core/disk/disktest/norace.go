//go:build !race

package disktest

const raceEnabled = false
