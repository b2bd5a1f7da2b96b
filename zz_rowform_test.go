package softdb_test

import (
	"testing"
	"time"

	"github.com/softdb/softdb"
)

func TestZZRowForm(t *testing.T) {
	db := mustOpen(t, softdb.Memory)
	loadVectors(t, db, "t", 1_000_000, 32)
	q := make([]float32, 32)
	q[0] = 1
	for _, sql := range []string{
		"SOFT SELECT rowid, weight FROM t MATCH ? LIMIT 1",
		"SOFT SELECT rowid, weight FROM t MATCH ? TOP 5",
		"HARD SELECT rowid FROM t MATCH ? LIMIT 10",
	} {
		full := timeQuery(t, db, sql, q)
		t.Logf("%s uncancelled %v", sql, full)
		lat, err := cancelAfter(db, 20*time.Millisecond, sql, q)
		t.Logf("%s cancel: %v after, err %v", sql, lat, err)
		lat, err = cancelAfter(db, full/2, sql, q)
		t.Logf("%s cancel at half: %v after, err %v", sql, lat, err)
	}
}
