package exec

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/softdb/softdb/query"
	"github.com/softdb/softdb/storage"
)

// TestPanicInTransaction: a statement inside BEGIN … COMMIT that panics
// half way through its writes rolls the transaction back; every later
// statement but ROLLBACK fails, COMMIT included, and nothing of the
// transaction is stored.
func TestPanicInTransaction(t *testing.T) {
	db, err := storage.Open(storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	s := New(db).NewSession()
	exec := func(sql string) (*Result, error) {
		st, err := query.ParseOne(sql)
		if err != nil {
			t.Fatal(err)
		}
		return s.Exec(ctx, st, nil)
	}
	must := func(sql string) *Result {
		t.Helper()
		res, err := exec(sql)
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		return res
	}
	count := func() int64 {
		t.Helper()
		return must("SELECT count(*) FROM t").Rows[0][0].I
	}
	must("CREATE TABLE t (x INT)")
	for _, end := range []string{"COMMIT", "ROLLBACK"} {
		must("BEGIN")
		must("INSERT INTO t VALUES (1)")
		// The next INSERT writes its rows into the transaction, then panics.
		stmtHook = func(s *Session, st query.Statement) {
			if _, ok := st.(*query.Insert); ok && s.tx != nil {
				if _, _, err := insert(s.tx, st.(*query.Insert), nil); err != nil {
					t.Error(err)
				}
				panic("injected")
			}
		}
		_, err := exec("INSERT INTO t VALUES (2)")
		stmtHook = nil
		if err == nil || !strings.Contains(err.Error(), "injected") {
			t.Fatalf("INSERT that panicked: %v", err)
		}
		for _, sql := range []string{"INSERT INTO t VALUES (3)", "SELECT count(*) FROM t"} {
			if _, err := exec(sql); !errors.Is(err, ErrTx) || !strings.Contains(err.Error(), "ROLLBACK") {
				t.Fatalf("%s after the panic: %v, want the aborted transaction's error", sql, err)
			}
		}
		if !s.InTx() {
			t.Fatalf("the aborted transaction does not count as open")
		}
		_, err = exec(end)
		if end == "COMMIT" && !errors.Is(err, ErrTx) {
			t.Fatalf("COMMIT of the aborted transaction: %v, want an error", err)
		}
		if end == "ROLLBACK" && err != nil {
			t.Fatalf("ROLLBACK: %v", err)
		}
		if n := count(); n != 0 {
			t.Fatalf("after %s of the aborted transaction: %d rows, want 0", end, n)
		}
	}
	// The session goes on: a new transaction commits.
	must("BEGIN")
	must("INSERT INTO t VALUES (7)")
	must("COMMIT")
	if n := count(); n != 1 {
		t.Fatalf("%d rows, want 1", n)
	}
}
