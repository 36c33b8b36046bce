//go:build !race

package inspect

const raceOn = false
