//go:build race

package softdb_test

// raceEnabled is set when the race detector slows everything down, which
// makes wall-clock assertions meaningless.
const raceEnabled = true
