//go:build race

package qcow2_test

// raceEnabled: under -race the 4.5 GiB fixtures are sampled, not read whole.
const raceEnabled = true
