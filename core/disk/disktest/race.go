//go:build race

package disktest

// raceEnabled: under -race the 4.5 GiB fixtures are sampled, not read whole.
const raceEnabled = true
