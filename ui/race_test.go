//go:build race

package ui

// raceSlowdown widens time budgets under the race detector, which makes
// Fyne's layout several times slower.
const raceSlowdown = 10
