//go:build race

package vmdk_test

// raceEnabled: under -race the 4.5 GiB fixtures are sampled, not read whole.
const raceEnabled = true
