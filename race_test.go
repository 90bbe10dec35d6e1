//go:build race

package main_test

// raceEnabled reports whether the tests run with the race detector, and
// so build wsbridge with it.
const raceEnabled = true
