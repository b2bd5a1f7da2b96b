package storage

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/softdb/softdb/types"
)

var itemsSchema = Schema{Name: "Items", Columns: []Column{
	{Name: "id", Type: intT, PrimaryKey: true},
	{Name: "name", Type: txtT, NotNull: true},
	{Name: "price", Type: fltT},
	{Name: "key", Type: vecT2},
}}

func item(id int64, name string, price float64, k0, k1 float32) []types.Value {
	return row(iv(id), tv(name), fv(price), vv(k0, k1))
}

func TestCRUDReopen(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Dir: dir, SegmentRows: 4}
	db := mustOpen(t, opts)
	run(t, db, func(tx *Tx) error { return tx.CreateTable(itemsSchema) })
	var first int64
	run(t, db, func(tx *Tx) (err error) {
		var rows [][]types.Value
		for i := int64(1); i <= 10; i++ {
			rows = append(rows, item(i*10, "n", float64(i)/2, float32(i), -1))
		}
		rows[3][2] = types.Value{} // a NULL price
		rows[4][3] = types.Value{} // a NULL vector
		first, err = tx.Insert("items", rows)
		return err
	})
	if first != 1 {
		t.Fatalf("first rowid %d, want 1", first)
	}
	run(t, db, func(tx *Tx) error {
		if err := tx.Update("ITEMS", []int64{2, 5}, [][]types.Value{item(20, "two", 2.5, 9, 9), item(50, "five", 0, 5, 5)}); err != nil {
			return err
		}
		return tx.Delete("items", []int64{3, 9, 10})
	})
	before := dump(t, db.Snapshot())
	tb := before["items"]
	if len(tb.Rows) != 7 || tb.NextRowID != 11 {
		t.Fatalf("got %d rows, next %d", len(tb.Rows), tb.NextRowID)
	}
	if got := tb.Rows[2]; got != "INT:20|TEXT:two|FLOAT:2.5|VECTOR:[9, 9]" {
		t.Fatalf("row 2 = %s", got)
	}
	if got := tb.Rows[4]; got != "INT:40|TEXT:n|NULL|VECTOR:[4, -1]" {
		t.Fatalf("row 4 = %s", got)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = mustOpen(t, opts)
	defer db.Close()
	if d := equalDumps(before, dump(t, db.Snapshot())); d != "" {
		t.Fatalf("after reopen: %s", d)
	}
	// Rowids are not reused after deleting the last rows and reopening,
	// and the PK index was rebuilt.
	run(t, db, func(tx *Tx) error {
		id, err := tx.Insert("items", [][]types.Value{item(90, "again", 1, 1, 1)})
		if id != 11 {
			t.Errorf("rowid after reopen %d, want 11", id)
		}
		return err
	})
	tx := mustBegin(t, db)
	_, err := tx.Insert("items", [][]types.Value{item(40, "dup", 1, 1, 1)})
	tx.Rollback()
	var ce *ConstraintError
	if !errors.As(err, &ce) || ce.Kind != ConstraintPrimaryKey {
		t.Fatalf("duplicate PK after reopen: %v", err)
	}
}

func TestSegmentsAcrossSizes(t *testing.T) {
	// Many inserts of varying sizes, across segment boundaries, with
	// deletes emptying whole segments.
	for _, segRows := range []int{1, 2, 8, 64} {
		dir := t.TempDir()
		opts := Options{Dir: dir, SegmentRows: segRows}
		db := mustOpen(t, opts)
		run(t, db, func(tx *Tx) error {
			return tx.CreateTable(Schema{Name: "t", Columns: []Column{{Name: "k", Type: vecT(3)}, {Name: "x", Type: intT}}})
		})
		n := int64(0)
		for _, batch := range []int{1, 3, 7, 1, 20, 64, 2, 100} {
			run(t, db, func(tx *Tx) error {
				var rows [][]types.Value
				for i := 0; i < batch; i++ {
					n++
					rows = append(rows, row(vv(float32(n), 0, -float32(n)), iv(n)))
				}
				_, err := tx.Insert("t", rows)
				return err
			})
		}
		var del []int64
		for id := int64(1); id <= n; id++ {
			if id <= 40 || id%3 == 0 {
				del = append(del, id)
			}
		}
		run(t, db, func(tx *Tx) error { return tx.Delete("t", del) })
		before := dump(t, db.Snapshot())
		tb := db.Snapshot().Table("t")
		for _, g := range tb.Segments() {
			if g.LiveCount() == 0 && g.Len() == segRows {
				t.Fatalf("segRows %d: dead full segment at %d kept", segRows, g.Base())
			}
		}
		db.Close()
		db = mustOpen(t, opts)
		if d := equalDumps(before, dump(t, db.Snapshot())); d != "" {
			t.Fatalf("segRows %d: after reopen: %s", segRows, d)
		}
		run(t, db, func(tx *Tx) error {
			id, err := tx.Insert("t", [][]types.Value{row(vv(1, 2, 3), types.Value{})})
			if id != n+1 {
				t.Errorf("next rowid %d, want %d", id, n+1)
			}
			return err
		})
		db.Close()
	}
}

func TestDeleteEverythingThenInsert(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Dir: dir, SegmentRows: 4}
	db := mustOpen(t, opts)
	run(t, db, func(tx *Tx) error {
		return tx.CreateTable(Schema{Name: "t", Columns: []Column{{Name: "x", Type: intT}}})
	})
	run(t, db, func(tx *Tx) error {
		_, err := tx.Insert("t", [][]types.Value{{iv(1)}, {iv(2)}, {iv(3)}, {iv(4)}, {iv(5)}, {iv(6)}})
		return err
	})
	run(t, db, func(tx *Tx) error { return tx.Delete("t", []int64{1, 2, 3, 4, 5, 6}) })
	db.Close()
	db = mustOpen(t, opts)
	defer db.Close()
	if tb := db.Snapshot().Table("t"); tb.LiveRows() != 0 || tb.NextRowID() != 7 {
		t.Fatalf("live %d next %d", tb.LiveRows(), tb.NextRowID())
	}
	run(t, db, func(tx *Tx) error {
		id, err := tx.Insert("t", [][]types.Value{{iv(7)}, {iv(8)}, {iv(9)}})
		if id != 7 {
			t.Errorf("rowid %d, want 7", id)
		}
		return err
	})
	if got := dump(t, db.Snapshot())["t"].Rows; len(got) != 3 || got[9] != "INT:9" {
		t.Fatalf("rows %v", got)
	}
}

func TestDropAndRecreate(t *testing.T) {
	dir := t.TempDir()
	db := mustOpen(t, Options{Dir: dir})
	run(t, db, func(tx *Tx) error { return tx.CreateTable(itemsSchema) })
	run(t, db, func(tx *Tx) error {
		_, err := tx.Insert("items", [][]types.Value{item(1, "a", 1, 1, 1), item(2, "b", 2, 2, 2)})
		return err
	})
	// Drop and recreate in one transaction: the new table starts empty and
	// rowids start again at 1.
	run(t, db, func(tx *Tx) error {
		if err := tx.DropTable("ITEMS"); err != nil {
			return err
		}
		if tx.Snapshot().Table("items") != nil {
			t.Errorf("dropped table still visible in tx")
		}
		s := itemsSchema
		s.Name = "items"
		if err := tx.CreateTable(s); err != nil {
			return err
		}
		id, err := tx.Insert("items", [][]types.Value{item(1, "again", 1, 1, 1)})
		if id != 1 {
			t.Errorf("rowid %d after recreate", id)
		}
		return err
	})
	before := dump(t, db.Snapshot())
	db.Close()
	db = mustOpen(t, Options{Dir: dir})
	defer db.Close()
	after := dump(t, db.Snapshot())
	if d := equalDumps(before, after); d != "" {
		t.Fatal(d)
	}
	if len(after["items"].Rows) != 1 || !strings.HasPrefix(after["items"].Schema, "items(") {
		t.Fatalf("%+v", after)
	}
	run(t, db, func(tx *Tx) error { return tx.DropTable("items") })
	db.Close()
	db = mustOpen(t, Options{Dir: dir})
	if n := len(db.Snapshot().Tables()); n != 0 {
		t.Fatalf("%d tables after drop", n)
	}
}

func TestErrorsLeaveEverythingUnchanged(t *testing.T) {
	db := mustOpen(t, Options{SegmentRows: 2})
	defer db.Close()
	run(t, db, func(tx *Tx) error { return tx.CreateTable(itemsSchema) })
	run(t, db, func(tx *Tx) error {
		_, err := tx.Insert("items", [][]types.Value{item(1, "a", 1, 1, 1), item(2, "b", 2, 2, 2), item(3, "c", 3, 3, 3)})
		return err
	})
	nan := float32(0)
	nan = nan / nan
	cases := []struct {
		name  string
		op    func(tx *Tx) error
		check func(err error) bool
		msg   string
	}{
		{"pk vs existing", func(tx *Tx) error {
			_, err := tx.Insert("items", [][]types.Value{item(4, "d", 0, 0, 0), item(2, "x", 0, 0, 0)})
			return err
		}, isConstraint(ConstraintPrimaryKey), `duplicate primary key 2 in table "Items" (column "id")`},
		{"pk within rows", func(tx *Tx) error {
			_, err := tx.Insert("items", [][]types.Value{item(7, "d", 0, 0, 0), item(7, "x", 0, 0, 0)})
			return err
		}, isConstraint(ConstraintPrimaryKey), `duplicate primary key 7 in table "Items" (column "id")`},
		{"pk null", func(tx *Tx) error {
			_, err := tx.Insert("items", [][]types.Value{row(types.Value{}, tv("a"), fv(1), vv(1, 1))})
			return err
		}, isConstraint(ConstraintNotNull), `NOT NULL constraint failed: Items.id`},
		{"not null", func(tx *Tx) error {
			_, err := tx.Insert("items", [][]types.Value{item(8, "d", 0, 0, 0), row(iv(9), types.Value{}, fv(1), vv(1, 1))})
			return err
		}, isConstraint(ConstraintNotNull), `NOT NULL constraint failed: Items.name`},
		{"dimension", func(tx *Tx) error {
			_, err := tx.Insert("items", [][]types.Value{row(iv(9), tv("a"), fv(1), vv(1, 2, 3))})
			return err
		}, func(err error) bool {
			var de *DimensionError
			return errors.As(err, &de) && de.Want == 2 && de.Got == 3
		},
			`dimension mismatch for Items.key: expected 2, got 3`},
		{"kind", func(tx *Tx) error {
			_, err := tx.Insert("items", [][]types.Value{row(iv(9), iv(5), fv(1), vv(1, 2))})
			return err
		}, isValueError, `type mismatch for Items.name: expected TEXT, got INT`},
		{"nan", func(tx *Tx) error {
			_, err := tx.Insert("items", [][]types.Value{row(iv(9), tv("a"), fv(1), vv(1, nan))})
			return err
		}, isValueError, `invalid vector for Items.key: element 2 is NaN`},
		{"arity", func(tx *Tx) error {
			_, err := tx.Insert("items", [][]types.Value{row(iv(9), tv("a"))})
			return err
		}, isValueError, `table Items has 4 columns but 2 values were supplied`},
		{"no table", func(tx *Tx) error {
			_, err := tx.Insert("nope", [][]types.Value{row(iv(9))})
			return err
		}, func(err error) bool { return errors.Is(err, ErrNoTable) }, `table "nope" does not exist`},
		{"update pk clash", func(tx *Tx) error {
			return tx.Update("items", []int64{1}, [][]types.Value{item(3, "a", 1, 1, 1)})
		}, isConstraint(ConstraintPrimaryKey), `duplicate primary key 3 in table "Items" (column "id")`},
		{"update pk clash within", func(tx *Tx) error {
			return tx.Update("items", []int64{1, 2}, [][]types.Value{item(5, "a", 1, 1, 1), item(5, "b", 1, 1, 1)})
		}, isConstraint(ConstraintPrimaryKey), ""},
		{"update missing row", func(tx *Tx) error {
			return tx.Update("items", []int64{1, 99}, [][]types.Value{item(1, "z", 1, 1, 1), item(99, "b", 1, 1, 1)})
		}, func(err error) bool { return errors.Is(err, ErrNoRow) }, ""},
		{"update bad row", func(tx *Tx) error {
			return tx.Update("items", []int64{1, 2}, [][]types.Value{item(1, "z", 1, 1, 1), row(iv(2), types.Value{}, fv(1), vv(1, 1))})
		}, isConstraint(ConstraintNotNull), ""},
		{"delete missing row", func(tx *Tx) error { return tx.Delete("items", []int64{1, 4}) },
			func(err error) bool { return errors.Is(err, ErrNoRow) }, ""},
		{"create existing", func(tx *Tx) error {
			return tx.CreateTable(Schema{Name: "ITEMS", Columns: []Column{{Name: "a", Type: intT}}})
		},
			func(err error) bool { return errors.Is(err, ErrTableExists) }, `table "ITEMS" already exists`},
		{"drop missing", func(tx *Tx) error { return tx.DropTable("zz") },
			func(err error) bool { return errors.Is(err, ErrNoTable) }, `table "zz" does not exist`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := dump(t, db.Snapshot())
			tx := mustBegin(t, db)
			// A successful write first, so the failed one has a non-empty
			// batch and a private mirror to leave alone.
			if err := tx.Update("items", []int64{3}, [][]types.Value{item(3, "c2", 3, 3, 3)}); err != nil {
				t.Fatal(err)
			}
			mid := dump(t, tx.Snapshot())
			batchLen := tx.batchLen()
			err := c.op(tx)
			if err == nil || !c.check(err) {
				t.Fatalf("got error %v", err)
			}
			if c.msg != "" && err.Error() != c.msg {
				t.Fatalf("message %q, want %q", err.Error(), c.msg)
			}
			if tx.batchLen() != batchLen {
				t.Fatalf("failed op changed the batch")
			}
			if d := equalDumps(mid, dump(t, tx.Snapshot())); d != "" {
				t.Fatalf("failed op changed the tx view: %s", d)
			}
			// The PK index is unchanged too: the rows' keys are still taken.
			if _, err := tx.Insert("items", [][]types.Value{item(3, "x", 0, 0, 0)}); !isConstraint(ConstraintPrimaryKey)(err) {
				t.Fatalf("PK index damaged: %v", err)
			}
			tx.Rollback()
			if d := equalDumps(before, dump(t, db.Snapshot())); d != "" {
				t.Fatal(d)
			}
		})
	}
}

func isConstraint(kind string) func(error) bool {
	return func(err error) bool {
		var ce *ConstraintError
		return errors.As(err, &ce) && ce.Kind == kind
	}
}

func isValueError(err error) bool {
	var ve *ValueError
	return errors.As(err, &ve)
}

func TestSchemaValidation(t *testing.T) {
	db := mustOpen(t, Options{})
	defer db.Close()
	bad := []struct {
		s   Schema
		msg string
	}{
		{Schema{Name: "t"}, `table "t" must have at least one column`},
		{Schema{Name: "", Columns: []Column{{Name: "a", Type: intT}}}, "table name must not be empty"},
		{Schema{Name: "t", Columns: []Column{{Name: "a", Type: intT}, {Name: "A", Type: txtT}}}, `duplicate column name "A" in table "t"`},
		{Schema{Name: "t", Columns: []Column{{Name: "RowID", Type: intT}}}, `column name "RowID" is reserved`},
		{Schema{Name: "t", Columns: []Column{{Name: "score", Type: fltT}}}, `column name "score" is reserved`},
		{Schema{Name: "t", Columns: []Column{{Name: "weight", Type: fltT}}}, `column name "weight" is reserved`},
		{Schema{Name: "t", Columns: []Column{{Name: "qrow", Type: fltT}}}, `column name "qrow" is reserved`},
		{Schema{Name: "t", Columns: []Column{{Name: "a", Type: intT, PrimaryKey: true}, {Name: "b", Type: txtT, PrimaryKey: true}}}, `table "t" has more than one primary key`},
		{Schema{Name: "t", Columns: []Column{{Name: "a", Type: fltT, PrimaryKey: true}}}, `PRIMARY KEY column "a" must be INT or TEXT, not FLOAT`},
		{Schema{Name: "t", Columns: []Column{{Name: "v", Type: vecT(0)}}}, `VECTOR dimension of column "v" must be between 1 and 65536, got 0`},
		{Schema{Name: "t", Columns: []Column{{Name: "v", Type: vecT(65537)}}}, `VECTOR dimension of column "v" must be between 1 and 65536, got 65537`},
		{Schema{Name: "t", Columns: []Column{{Name: "v", Type: types.Type{Kind: types.Null}}}}, `column "v" has invalid type NULL`},
	}
	tx := mustBegin(t, db)
	defer tx.Rollback()
	for _, b := range bad {
		err := tx.CreateTable(b.s)
		var se *SchemaError
		if !errors.As(err, &se) || err.Error() != b.msg {
			t.Errorf("%v: got %v, want %q", b.s, err, b.msg)
		}
	}
	if tx.changed {
		t.Fatal("failed CreateTable changed the tx")
	}
	// Good schema: PK becomes NOT NULL; the caller's slice is copied.
	s := Schema{Name: "Good", Columns: []Column{{Name: "ID", Type: txtT, PrimaryKey: true}, {Name: "v", Type: vecT(65536)}}}
	if err := tx.CreateTable(s); err != nil {
		t.Fatal(err)
	}
	s.Columns[0].Name = "changed"
	got := tx.Snapshot().Table("good").Schema()
	if got.Columns[0].Name != "ID" || !got.Columns[0].NotNull || got.PrimaryKey() != 0 || got.ColumnIndex("id") != 0 || got.ColumnIndex("V") != 1 || got.ColumnIndex("x") != -1 {
		t.Fatalf("%+v", got)
	}
}

func TestTextPrimaryKey(t *testing.T) {
	db := mustOpen(t, Options{})
	defer db.Close()
	run(t, db, func(tx *Tx) error {
		return tx.CreateTable(Schema{Name: "t", Columns: []Column{{Name: "k", Type: txtT, PrimaryKey: true}, {Name: "v", Type: intT}}})
	})
	run(t, db, func(tx *Tx) error {
		_, err := tx.Insert("t", [][]types.Value{{tv("a"), iv(1)}, {tv("b"), iv(2)}})
		return err
	})
	tx := mustBegin(t, db)
	_, err := tx.Insert("t", [][]types.Value{{tv("it's"), iv(1)}, {tv("it's"), iv(2)}})
	if err == nil || err.Error() != `duplicate primary key 'it''s' in table "t" (column "k")` {
		t.Fatalf("%v", err)
	}
	// Swapping keys between rows in one Update is fine.
	if err := tx.Update("t", []int64{1, 2}, [][]types.Value{{tv("b"), iv(1)}, {tv("a"), iv(2)}}); err != nil {
		t.Fatal(err)
	}
	// Delete frees a key for reuse in the same tx.
	if err := tx.Delete("t", []int64{1}); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Insert("t", [][]types.Value{{tv("b"), iv(3)}}); err != nil {
		t.Fatal(err)
	}
	tx.Rollback()
	// After rollback the old keys hold again.
	tx = mustBegin(t, db)
	defer tx.Rollback()
	if _, err := tx.Insert("t", [][]types.Value{{tv("a"), iv(3)}}); !isConstraint(ConstraintPrimaryKey)(err) {
		t.Fatalf("%v", err)
	}
	if _, err := tx.Insert("t", [][]types.Value{{tv("c"), iv(3)}}); err != nil {
		t.Fatal(err)
	}
}

func TestTxLifecycle(t *testing.T) {
	db := mustOpen(t, Options{})
	tx := mustBegin(t, db)
	// A second writer waits; its context ends the wait.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := db.Begin(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second Begin: %v", err)
	}
	if err := tx.Commit(); err != nil { // empty: writes nothing
		t.Fatal(err)
	}
	if err := tx.Commit(); !errors.Is(err, ErrTxDone) {
		t.Fatalf("second Commit: %v", err)
	}
	tx.Rollback() // safe after Commit
	if _, err := tx.Insert("t", nil); !errors.Is(err, ErrTxDone) {
		t.Fatalf("Insert after Commit: %v", err)
	}
	tx = mustBegin(t, db)
	tx.Rollback()
	tx.Rollback()
	// Close waits for the open transaction.
	tx = mustBegin(t, db)
	closed := make(chan error)
	go func() { closed <- db.Close() }()
	select {
	case <-closed:
		t.Fatal("Close did not wait for the transaction")
	case <-time.After(20 * time.Millisecond):
	}
	if err := tx.CreateTable(Schema{Name: "t", Columns: []Column{{Name: "a", Type: intT}}}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if _, err := db.Begin(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Begin after Close: %v", err)
	}
	if db.Snapshot().Table("t") == nil {
		t.Fatal("snapshot unreadable after Close")
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestLockSameProcess(t *testing.T) {
	dir := t.TempDir()
	db := mustOpen(t, Options{Dir: dir})
	_, err := Open(Options{Dir: dir})
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "database is locked") {
		t.Fatalf("second Open: %v", err)
	}
	// Another spelling of the same path is caught too.
	_, err = Open(Options{Dir: dir + "/./"})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open via another path: %v", err)
	}
	db.Close()
	db = mustOpen(t, Options{Dir: dir})
	db.Close()
}

func TestOptions(t *testing.T) {
	for _, n := range []int{-1, 3, 100} {
		if _, err := Open(Options{SegmentRows: n}); err == nil {
			t.Errorf("SegmentRows %d accepted", n)
		}
	}
	for _, dir := range []string{"", ":memory:"} {
		db := mustOpen(t, Options{Dir: dir})
		run(t, db, func(tx *Tx) error {
			return tx.CreateTable(Schema{Name: "t", Columns: []Column{{Name: "a", Type: intT}}})
		})
		db.Close()
		db2 := mustOpen(t, Options{Dir: dir}) // a fresh, empty in-memory database
		if len(db2.Snapshot().Tables()) != 0 {
			t.Fatal("in-memory databases share state")
		}
		db2.Close()
	}
}

func TestTxTooLarge(t *testing.T) {
	db := mustOpen(t, Options{})
	defer db.Close()
	run(t, db, func(tx *Tx) error { return tx.CreateTable(crashSchema) })
	defer func(old int) { maxTxBytes = old }(maxTxBytes)
	tx := mustBegin(t, db)
	defer tx.Rollback()
	var rows [][]types.Value
	for i := int64(1); i <= 20; i++ {
		rows = append(rows, row(iv(i), vv(1, 2, 3, 4)))
	}
	if _, err := tx.Insert("t", rows[:10]); err != nil {
		t.Fatal(err)
	}
	maxTxBytes = tx.batchLen() + 100 // room for one more row, not ten
	before := dump(t, tx.Snapshot())
	_, err := tx.Insert("t", rows[10:])
	if !errors.Is(err, ErrTxTooLarge) {
		t.Fatalf("got %v", err)
	}
	if d := equalDumps(before, dump(t, tx.Snapshot())); d != "" {
		t.Fatal(d)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

func TestOpenErrors(t *testing.T) {
	file := t.TempDir() + "/file"
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(Options{Dir: file}); err == nil || errors.Is(err, ErrLocked) {
		t.Fatalf("Open of a file: %v", err)
	}
	// A directory created on demand, nested.
	db := mustOpen(t, Options{Dir: t.TempDir() + "/a/b"})
	db.Close()
}
