package softdb_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/softdb/softdb"
)

// TestPreparedWriteArgsReused: prepared INSERTs and UPDATEs do not copy
// their vector arguments (storage copies what it keeps), so the caller's
// slice, reused and changed after each call, must leave every stored row
// as it was when its statement ran: in a transaction, in autocommit, on a
// table with a PRIMARY KEY, before and after commit and reopening, and
// for a SELECT reading the argument back (which copies it).
func TestPreparedWriteArgsReused(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := softdb.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	mustExec(t, db, "CREATE TABLE t (id INT PRIMARY KEY, v VECTOR(3))")
	ins, err := db.Prepare(ctx, "INSERT INTO t VALUES (?, ?)")
	if err != nil {
		t.Fatal(err)
	}
	upd, err := db.Prepare(ctx, "UPDATE t SET v = ? WHERE id = ?")
	if err != nil {
		t.Fatal(err)
	}
	arg := make([]float32, 3)
	set := func(i int) []float32 {
		arg[0], arg[1], arg[2] = float32(i), float32(i)/2, -float32(i)
		return arg
	}
	want := map[int64][]float32{}
	tx, err := db.Begin(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 100; i++ {
		if _, err := tx.Stmt(ins).Exec(ctx, i, set(i)); err != nil {
			t.Fatal(err)
		}
		want[int64(i)] = []float32{float32(i), float32(i) / 2, -float32(i)}
		if i%3 == 0 { // update an earlier row with the same slice
			if _, err := tx.Stmt(upd).Exec(ctx, set(1000+i), i/2); err != nil {
				t.Fatal(err)
			}
			want[int64(i/2)] = []float32{float32(1000 + i), float32(1000+i) / 2, -float32(1000 + i)}
		}
		set(-7) // the caller reuses its slice at once
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	for i := 101; i <= 120; i++ { // autocommit
		if _, err := ins.Exec(ctx, i, set(i)); err != nil {
			t.Fatal(err)
		}
		want[int64(i)] = []float32{float32(i), float32(i) / 2, -float32(i)}
		set(-9)
	}
	if _, err := upd.Exec(ctx, set(5000), 120); err != nil {
		t.Fatal(err)
	}
	want[120] = []float32{5000, 2500, -5000}
	set(-11)
	sel, err := db.Prepare(ctx, "SELECT ?")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := sel.Query(ctx, set(3))
	if err != nil {
		t.Fatal(err)
	}
	set(-13)
	var back []float32
	if !rows.Next() || rows.Scan(&back) != nil || !reflect.DeepEqual(back, []float32{3, 1.5, -3}) {
		t.Errorf("SELECT ? read back %v after the argument changed", back)
	}
	rows.Close()

	check := func(db *softdb.DB, when string) {
		t.Helper()
		rows, err := db.Query(ctx, "SELECT id, v FROM t")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			var id int64
			var v []float32
			if err := rows.Scan(&id, &v); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(v, want[id]) {
				t.Errorf("%s: row %d is %v, want %v", when, id, v, want[id])
			}
			n++
		}
		if n != len(want) {
			t.Errorf("%s: %d rows, want %d", when, n, len(want))
		}
	}
	check(db, "before reopening")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = softdb.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	check(db, "after reopening")
}
