//go:build race

package storage

// raceEnabled: the race detector multiplies memory use.
const raceEnabled = true
