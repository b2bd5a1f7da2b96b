//go:build !race

package softdb_test

const raceEnabled = false
