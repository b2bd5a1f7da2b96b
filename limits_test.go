package softdb_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/softdb/softdb"
)

// TestMemoryLimit: a plan that would need more memory than
// Options.MaxStatementMemory fails with ErrLimit before it runs, and the
// same data answers bounded forms of the query.
func TestMemoryLimit(t *testing.T) {
	db, err := softdb.Open(t.TempDir(), &softdb.Options{MaxStatementMemory: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	if _, err := db.Exec(ctx, "CREATE TABLE t (key VECTOR(2), label TEXT)"); err != nil {
		t.Fatal(err)
	}
	var rows [][]any
	for i := 0; i < 20000; i++ {
		rows = append(rows, []any{[]float32{float32(i % 7), float32(i % 11)}, "x"})
	}
	insertRows(t, db, "t", 2, rows)
	// 20,000 queries × 20,000 rows in row form: far beyond 1 MiB.
	_, err = db.Query(ctx, "SOFT SELECT qrow, label, weight FROM t MATCH (SELECT key FROM t)")
	if !errors.Is(err, softdb.ErrLimit) || !strings.Contains(err.Error(), "20000 queries × 20000 rows") {
		t.Fatalf("got %v, want ErrLimit naming the shape", err)
	}
	// Bounded: a few queries, or the blend form, or HARD.
	for _, sql := range []string{
		"SOFT SELECT qrow, key FROM t MATCH (SELECT key FROM t WHERE rowid <= 3)",
		"HARD SELECT qrow, label FROM t MATCH (SELECT key FROM t WHERE rowid <= 3)",
	} {
		r, err := db.Query(ctx, sql)
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		r.Close()
	}
	// A plain scan that keeps its rows is bounded too; aggregates stream
	// and are not.
	if _, err := db.Query(ctx, "SELECT key FROM t"); !errors.Is(err, softdb.ErrLimit) {
		t.Errorf("SELECT of 20000 rows under a 1 MiB limit: %v, want ErrLimit", err)
	}
	var n int
	var label string
	if err := db.QueryRow(ctx, "SELECT count(*), max(label) FROM t").Scan(&n, &label); err != nil || n != 20000 || label != "x" {
		t.Errorf("streamed aggregate: %d %q %v", n, label, err)
	}
	if _, err := softdb.Open(t.TempDir(), &softdb.Options{MaxStatementMemory: -1}); err == nil {
		t.Error("a negative MaxStatementMemory was accepted")
	}
}
