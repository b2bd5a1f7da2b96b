package softdb_test

import (
	"context"
	"errors"
	"fmt"
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

// TestMemoryEstimateBounds: the estimate counts what bounds the result —
// HARD's k no more than the rows there are, TOP k rows per query, one row
// per query for aggregates without GROUP BY — its advice names only what
// the statement lacks, and SET max_statement_memory raises the limit for a
// connection.
func TestMemoryEstimateBounds(t *testing.T) {
	ctx := context.Background()
	db, err := softdb.Open(t.TempDir(), &softdb.Options{MaxStatementMemory: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(ctx, "CREATE TABLE two (key VECTOR(2)); INSERT INTO two VALUES ([1, 0]), ([0, 1])"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, "CREATE TABLE t (key VECTOR(2), label TEXT)"); err != nil {
		t.Fatal(err)
	}
	var rows [][]any
	for i := 0; i < 20000; i++ {
		rows = append(rows, []any{[]float32{float32(i % 7), float32(i % 11)}, []string{"x", "y"}[i%2]})
	}
	insertRows(t, db, "t", 2, rows)
	count := func(sql string) int {
		t.Helper()
		r, err := db.Query(ctx, sql)
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		defer r.Close()
		n := 0
		for r.Next() {
			n++
		}
		return n
	}
	// k beyond the table's rows: 2 rows, not 10⁸ heaps' worth.
	if n := count("HARD SELECT rowid FROM two MATCH [1, 0] LIMIT 100000000"); n != 2 {
		t.Errorf("HARD LIMIT 1e8 on 2 rows: %d rows", n)
	}
	// TOP 5 in row form over 1,000 queries: 5,000 rows.
	if n := count("SOFT SELECT qrow, label, weight FROM t MATCH (SELECT key FROM t WHERE rowid <= 1000) TOP 5"); n != 5000 {
		t.Errorf("row form with TOP 5 over 1000 queries: %d rows", n)
	}
	// A plain scan with LIMIT keeps LIMIT rows.
	if n := count("SELECT key FROM t LIMIT 10"); n != 10 {
		t.Errorf("SELECT … LIMIT 10: %d rows", n)
	}
	// Advice fits the statement.
	for _, c := range []struct{ sql, want, not string }{
		{"SOFT SELECT qrow, label FROM t MATCH (SELECT key FROM t)", "add TOP k, a LIMIT, an aggregate, fewer query rows or a WHERE", ""},
		{"SOFT SELECT qrow, label FROM t MATCH (SELECT key FROM t) TOP 1000 LIMIT 1000", "add an aggregate, fewer query rows or a WHERE", "LIMIT,"},
		{"HARD SELECT qrow, label FROM t MATCH (SELECT key FROM t) LIMIT 20000", "add a smaller LIMIT, fewer query rows or a WHERE", "TOP"},
	} {
		_, err := db.Query(ctx, c.sql)
		if !errors.Is(err, softdb.ErrLimit) || !strings.Contains(err.Error(), c.want) || c.not != "" && strings.Contains(err.Error(), c.not) {
			t.Errorf("%s: %v, want ErrLimit advising %q", c.sql, err, c.want)
		}
		if err != nil && !strings.Contains(err.Error(), "SET max_statement_memory") {
			t.Errorf("%s: %v does not say how to raise the limit", c.sql, err)
		}
	}
	// Aggregates without GROUP BY need a row per query, plus one block of
	// scores (64 MiB): over 4 MiB, until the connection raises its limit.
	const agg = "SOFT SELECT qrow, count(*), sum(weight) FROM t MATCH (SELECT key FROM t) GROUP BY qrow"
	const aggNoGroup = "SOFT SELECT count(*), sum(weight) FROM t MATCH (SELECT key FROM t WHERE rowid <= 300)"
	conn := db.Conn()
	defer conn.Close()
	if _, err := conn.Query(ctx, aggNoGroup); !errors.Is(err, softdb.ErrLimit) {
		t.Fatalf("before SET: %v, want ErrLimit", err)
	}
	if _, err := conn.Exec(ctx, "SET max_statement_memory = '100MB'"); err != nil {
		t.Fatal(err)
	}
	r, err := conn.Query(ctx, aggNoGroup)
	if err != nil {
		t.Fatalf("after SET: %v", err)
	}
	n := 0
	for r.Next() {
		n++
	}
	r.Close()
	if n != 300 {
		t.Errorf("count(*), sum(weight) over 300 queries: %d rows, want one per query", n)
	}
	if shown, err := showSetting(ctx, conn, "max_statement_memory"); err != nil || shown != "100MB" {
		t.Errorf("SHOW max_statement_memory = %q, %v; want 100MB", shown, err)
	}
	// GROUP BY qrow may make a group per row: still refused at 100 MB.
	if _, err := conn.Query(ctx, agg); !errors.Is(err, softdb.ErrLimit) || !strings.Contains(err.Error(), "limit of 100.0 MiB") {
		t.Errorf("GROUP BY over 20000 × 20000 at 100 MB: %v", err)
	}
	// Another connection keeps the database's limit; DEFAULT restores it.
	if _, err := db.Query(ctx, aggNoGroup); !errors.Is(err, softdb.ErrLimit) {
		t.Errorf("another connection: %v, want ErrLimit", err)
	}
	if _, err := conn.Exec(ctx, "SET max_statement_memory TO DEFAULT"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Query(ctx, aggNoGroup); !errors.Is(err, softdb.ErrLimit) {
		t.Errorf("after SET … DEFAULT: %v, want ErrLimit", err)
	}
	// SHOW gives the value in a form SET reads back.
	shown, err := showSetting(ctx, conn, "max_statement_memory")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "SET max_statement_memory = '"+shown+"'"); err != nil {
		t.Errorf("SET max_statement_memory = %q (as SHOW gave it): %v", shown, err)
	}
	if _, err := conn.Query(ctx, "SHOW no_such_setting"); err == nil || !strings.Contains(err.Error(), `unknown setting "no_such_setting"`) {
		t.Errorf("SHOW no_such_setting: %v", err)
	}
	for _, c := range []struct{ sql, want string }{
		{"SET max_statement_memory = 'lots'", "invalid memory size"},
		{"SET max_statement_memory = '16 parsecs'", "unknown unit"},
		{"SET max_statement_memory = 0", "between 1 byte"},
		{"SET work_mem = '1GB'", `unknown setting "work_mem"`},
	} {
		if _, err := conn.Exec(ctx, c.sql); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error containing %q", c.sql, err, c.want)
		}
	}
	for in, want := range map[string]int64{"16GB": 16 << 30, "512 MiB": 512 << 20, "1.5gb": 3 << 29, "4096": 4096, "64kB": 64 << 10} {
		if got, err := softdb.ParseMemorySize(in); err != nil || got != want {
			t.Errorf("ParseMemorySize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
}

// showSetting runs SHOW name on conn.
func showSetting(ctx context.Context, conn *softdb.Conn, name string) (string, error) {
	rows, err := conn.Query(ctx, "SHOW "+name)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var v string
	if !rows.Next() {
		return "", fmt.Errorf("SHOW %s: no row (%v)", name, rows.Err())
	}
	err = rows.Scan(&v)
	return v, err
}
