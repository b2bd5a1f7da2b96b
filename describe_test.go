package softdb_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/softdb/softdb"
	"github.com/softdb/softdb/query"
)

// TestDescribe: the placeholders' types and the result's columns are
// known before a statement runs, from the table it names.
func TestDescribe(t *testing.T) {
	db, err := softdb.Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	c := db.Conn()
	defer c.Close()
	if _, err := c.Exec(ctx, "CREATE TABLE t (id INT, key VECTOR(4), name TEXT, w FLOAT)"); err != nil {
		t.Fatal(err)
	}
	kinds := func(cols []softdb.ColumnType) (out []string) {
		for _, c := range cols {
			out = append(out, c.Kind)
		}
		return out
	}
	for _, tc := range []struct {
		sql          string
		params, cols []string
	}{
		{"INSERT INTO t (name, id) VALUES ($1, $2)", []string{"TEXT", "INT"}, nil},
		{"UPDATE t SET w = $1 WHERE name = $2", []string{"FLOAT", "TEXT"}, nil},
		{"SOFT SELECT w, id FROM t MATCH $1 TEMPERATURE $2 TOP $3 WHERE id > $4", []string{"VECTOR", "FLOAT", "INT", "INT"}, []string{"FLOAT", "FLOAT"}},
		{"SELECT $1, name FROM t LIMIT $2", []string{"", "INT"}, []string{"", "TEXT"}},
		{"HARD SELECT key, score FROM t MATCH $1 LIMIT 3", []string{"VECTOR"}, []string{"VECTOR", "FLOAT"}},
	} {
		st, err := query.ParseOne(tc.sql)
		if err != nil {
			t.Fatal(err)
		}
		d, err := c.Describe(ctx, st)
		if err != nil {
			t.Errorf("%s: %v", tc.sql, err)
			continue
		}
		if got := kinds(d.Params); !slices.Equal(got, tc.params) {
			t.Errorf("%s: params %v, want %v", tc.sql, got, tc.params)
		}
		if got := kinds(d.Columns); tc.cols != nil && !slices.Equal(got, tc.cols) || d.HasRows != (tc.cols != nil) {
			t.Errorf("%s: columns %v (rows %v), want %v", tc.sql, got, d.HasRows, tc.cols)
		}
	}
	st, _ := query.ParseOne("SELECT * FROM nope WHERE id = $1")
	if _, err := c.Describe(ctx, st); !errors.Is(err, softdb.ErrNotFound) {
		t.Errorf("Describe of a missing table: %v", err)
	}
	if d, _ := c.Describe(ctx, mustParse(t, "SELECT id FROM t")); d == nil || d.Columns[0].Kind == "FLOAT" {
		t.Errorf("Describe SELECT id: %+v", d)
	}
}

func mustParse(t *testing.T, s string) query.Statement {
	st, err := query.ParseOne(s)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestLockTimeout: a write waits for another connection's transaction no
// longer than the connection's lock timeout.
func TestLockTimeout(t *testing.T) {
	db, err := softdb.Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	a, b := db.Conn(), db.Conn()
	defer a.Close()
	defer b.Close()
	if _, err := a.Exec(ctx, "CREATE TABLE t (id INT); BEGIN; INSERT INTO t VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	b.SetLockTimeout(100 * time.Millisecond)
	start := time.Now()
	_, err = b.Exec(ctx, "INSERT INTO t VALUES (2)")
	if !errors.Is(err, softdb.ErrLockTimeout) {
		t.Fatalf("second writer: %v, want ErrLockTimeout", err)
	}
	if d := time.Since(start); d < 90*time.Millisecond || d > 3*time.Second {
		t.Errorf("waited %v, want about 100ms", d)
	}
	if _, err := a.Exec(ctx, "COMMIT"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Exec(ctx, "INSERT INTO t VALUES (2)"); err != nil {
		t.Fatalf("after COMMIT: %v", err)
	}
}
