//go:build race

package inspect

// raceOn: the race detector slows everything several times; time limits
// are only asserted without it.
const raceOn = true
