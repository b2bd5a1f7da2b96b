package driver_test

import (
	"context"
	"database/sql"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/softdb/softdb"
	"github.com/softdb/softdb/driver"
)

// TestSharedScansThroughDatabaseSQL: SOFT and HARD SELECTs from many
// goroutines of one database/sql pool share scans, and each gets the
// answer it gets with shared scans off.
func TestSharedScansThroughDatabaseSQL(t *testing.T) {
	sdb, err := softdb.Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sdb.Close()
	db := sql.OpenDB(driver.NewConnector(sdb))
	defer db.Close()
	ctx := context.Background()
	mustExec(t, db, "CREATE TABLE t (key VECTOR(16), value VECTOR(16), label TEXT)")
	rng := rand.New(rand.NewPCG(1, 2))
	vec := func() driver.Vector {
		v := make(driver.Vector, 16)
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		return v
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5000; i++ {
		if _, err := tx.ExecContext(ctx, "INSERT INTO t VALUES (?, ?, ?)", vec(), vec(), string(rune('a'+i%5))); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	stmts := []string{
		"SOFT SELECT value FROM t MATCH ?",
		"HARD SELECT label || ':' || rowid FROM t MATCH $1 USING COSINE",
		"SOFT SELECT label FROM t MATCH ? TEMPERATURE 0.5 GROUP BY label ORDER BY SUM(weight) DESC LIMIT 1",
	}
	const goroutines, each = 8, 10
	queries := make([]driver.Vector, goroutines*each)
	for i := range queries {
		queries[i] = vec()
	}
	run := func(i int) (string, error) {
		var v driver.Vector
		var s string
		row := db.QueryRowContext(ctx, stmts[i%len(stmts)], queries[i])
		if i%len(stmts) == 0 {
			err := row.Scan(&v)
			return v.String(), err
		}
		err := row.Scan(&s)
		return s, err
	}
	sdb.SetSharedScans(false)
	want := make([]string, len(queries))
	for i := range queries {
		if want[i], err = run(i); err != nil {
			t.Fatal(err)
		}
	}
	sdb.SetSharedScans(true)
	// Until some statements have shared a scan (the first round almost
	// always does; the check keeps the test from passing vacuously).
	before := sdb.ScanStats()
	for round := 0; round < 5 && sdb.ScanStats().Passes == before.Passes; round++ {
		var wg sync.WaitGroup
		for g := 0; g < goroutines; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := 0; k < each; k++ {
					i := k*goroutines + g
					got, err := run(i)
					if err != nil {
						t.Error(err)
						return
					}
					if got != want[i] && !closeVectors(got, want[i]) {
						t.Errorf("%s, query %d: shared %s, alone %s", stmts[i%len(stmts)], i, got, want[i])
					}
				}
			}()
		}
		wg.Wait()
	}
	after := sdb.ScanStats()
	if after.Passes == before.Passes {
		t.Fatal("no statements shared a scan")
	}
	t.Logf("%d shared passes of %d statements", after.Passes-before.Passes, after.Statements-before.Statements)
}

// closeVectors compares two vectors in text form within 1e-5 of the
// largest component (SPEC §4: blends may differ by float32 rounding
// between a query scanned alone and one scanned in a batch).
func closeVectors(a, b string) bool {
	var va, vb driver.Vector
	if va.Scan(a) != nil || vb.Scan(b) != nil || len(va) != len(vb) {
		return false
	}
	scale := float32(1)
	for _, x := range vb {
		scale = max(scale, x, -x)
	}
	for i := range va {
		if d := va[i] - vb[i]; d > 1e-5*scale || d < -1e-5*scale {
			return false
		}
	}
	return true
}
