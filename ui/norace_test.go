//go:build !race

package ui

const raceSlowdown = 1
