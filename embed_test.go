package softdb_test

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/softdb/softdb"
)

// mustOpen opens path (a directory or softdb.Memory) and closes it at the
// end of the test.
func mustOpen(t testing.TB, path string) *softdb.DB {
	t.Helper()
	db, err := softdb.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func mustExec(t testing.TB, db *softdb.DB, sql string, args ...any) softdb.Result {
	t.Helper()
	res, err := db.Exec(context.Background(), sql, args...)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return res
}

func TestOpenMemoryAndPath(t *testing.T) {
	for _, path := range []string{"", softdb.Memory} {
		db := mustOpen(t, path)
		if !db.InMemory() || db.Path() != softdb.Memory {
			t.Errorf("Open(%q): InMemory %v, Path %q", path, db.InMemory(), db.Path())
		}
	}
	// Two in-memory databases are separate.
	a, b := mustOpen(t, softdb.Memory), mustOpen(t, softdb.Memory)
	mustExec(t, a, "CREATE TABLE t (x INT)")
	if _, err := b.Exec(context.Background(), "INSERT INTO t VALUES (1)"); !errors.Is(err, softdb.ErrNotFound) {
		t.Errorf("second in-memory DB sees the first's table: %v", err)
	}
	dir := filepath.Join(t.TempDir(), "new", "db")
	db := mustOpen(t, dir)
	if db.InMemory() || db.Path() != dir {
		t.Errorf("Open(dir): InMemory %v, Path %q", db.InMemory(), db.Path())
	}
}

func TestOptions(t *testing.T) {
	if _, err := softdb.Open(softdb.Memory, &softdb.Options{SegmentRows: 1000}); err == nil || !strings.Contains(err.Error(), "power of two") {
		t.Errorf("SegmentRows 1000: %v", err)
	}
	if _, err := softdb.Open(softdb.Memory, &softdb.Options{CacheSize: -1}); err == nil {
		t.Error("negative CacheSize accepted")
	}
	// Small segments: a table spanning many of them reads back whole.
	opts := &softdb.Options{SegmentRows: 4}
	db, err := softdb.Open(softdb.Memory, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if opts.SegmentRows != 4 || opts.CacheSize != 0 {
		t.Errorf("Open modified the caller's Options: %+v", opts)
	}
	mustExec(t, db, "CREATE TABLE t (key VECTOR(2), n INT)")
	for i := 0; i < 10; i++ {
		mustExec(t, db, "INSERT INTO t VALUES (?, ?)", []float32{float32(i), 1}, i)
	}
	var n int
	if err := db.QueryRow(context.Background(), "SELECT count(*) FROM t").Scan(&n); err != nil || n != 10 {
		t.Errorf("count = %d, %v", n, err)
	}
	var best int
	if err := db.QueryRow(context.Background(), "HARD SELECT n FROM t MATCH [1, 0]").Scan(&best); err != nil || best != 9 {
		t.Errorf("HARD SELECT over 3 segments = %d, %v; want 9", best, err)
	}
}

func TestExecQueryParams(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, softdb.Memory)
	mustExec(t, db, "CREATE TABLE t (id INT PRIMARY KEY, name TEXT, grade FLOAT, key VECTOR(3))")
	res := mustExec(t, db, "INSERT INTO t VALUES ($1, $2, $3, $4), ($5, $6, $7, $8)",
		1, "one", 1.5, []float32{1, 0, 0},
		int64(2), "two", float32(2.5), []float64{0, 1, 0})
	if res.RowsAffected != 2 || res.LastInsertID != 2 {
		t.Errorf("Result = %+v, want 2 rows, last rowid 2", res)
	}
	if res := mustExec(t, db, "UPDATE t SET name = ? WHERE id = ?", "uno", 1); res.RowsAffected != 1 {
		t.Errorf("UPDATE Result = %+v", res)
	}
	// Several statements share the arguments; ? counts from 1 in each.
	res = mustExec(t, db, "INSERT INTO t VALUES (?, 'x', NULL, NULL); UPDATE t SET name = 'three' WHERE id = ?", 3)
	if res.RowsAffected != 1 {
		t.Errorf("Result of the last statement = %+v", res)
	}

	rows, err := db.Query(ctx, "SELECT id, name, grade, key FROM t WHERE id >= $1 ORDER BY id", 2)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	if got := rows.Columns(); !reflect.DeepEqual(got, []string{"id", "name", "grade", "key"}) {
		t.Errorf("Columns = %v", got)
	}
	var types []string
	for _, c := range rows.ColumnTypes() {
		types = append(types, c.Name+" "+c.String())
	}
	if want := []string{"id INT", "name TEXT", "grade FLOAT", "key VECTOR(3)"}; !reflect.DeepEqual(types, want) {
		t.Errorf("ColumnTypes = %v, want %v", types, want)
	}
	var got [][]any
	for rows.Next() {
		got = append(got, rows.Values())
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := [][]any{{int64(2), "two", 2.5, []float32{0, 1, 0}}, {int64(3), "three", nil, nil}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rows = %v, want %v", got, want)
	}
	if rows.Next() || rows.Values() != nil {
		t.Error("Next after the end")
	}

	// Argument counts must match the placeholders.
	for _, args := range [][]any{{}, {1, 2}} {
		_, err := db.Query(ctx, "SELECT id FROM t WHERE id = ?", args...)
		if !errors.Is(err, softdb.ErrValue) || !strings.Contains(err.Error(), "placeholder") {
			t.Errorf("%d args for 1 placeholder: %v", len(args), err)
		}
	}
	if _, err := db.Exec(ctx, "INSERT INTO t (id) VALUES (?)", struct{}{}); !errors.Is(err, softdb.ErrType) {
		t.Errorf("struct argument: %v", err)
	}
	// nil slices, nil pointers and sql.Null values are NULL.
	var np *string
	mustExec(t, db, "INSERT INTO t VALUES (10, ?, ?, ?)", np, sql.NullFloat64{}, []float32(nil))
	name := "ten"
	mustExec(t, db, "UPDATE t SET name = ? WHERE id = 10", &name)
	var n int
	if err := db.QueryRow(ctx, "SELECT count(*) FROM t WHERE id = 10 AND name = 'ten' AND grade IS NULL AND key IS NULL").Scan(&n); err != nil || n != 1 {
		t.Errorf("NULL arguments: %d %v", n, err)
	}
	// A named []float32 type is a vector.
	type embedding []float32
	var id int
	if err := db.QueryRow(ctx, "HARD SELECT id FROM t MATCH ?", embedding{0, 1, 0}).Scan(&id); err != nil || id != 2 {
		t.Errorf("named vector type: %d %v", id, err)
	}
}

func TestScan(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, softdb.Memory)
	mustExec(t, db, "CREATE TABLE t (i INT, f FLOAT, s TEXT, v VECTOR(2))")
	mustExec(t, db, "INSERT INTO t VALUES (7, 2.0, 'hi', [1, 2]), (NULL, NULL, NULL, NULL)")
	row := func(where string) *softdb.Row {
		return db.QueryRow(ctx, "SELECT i, f, s, v FROM t WHERE "+where)
	}
	var (
		i64 int64
		i   int
		i32 int32
		f64 float64
		f32 float32
		b   bool
		s   string
		bs  []byte
		v   []float32
		v64 []float64
		a   any
	)
	if err := row("i = 7").Scan(&i64, &f64, &s, &v); err != nil || i64 != 7 || f64 != 2 || s != "hi" || !reflect.DeepEqual(v, []float32{1, 2}) {
		t.Errorf("Scan = %v %v %q %v, %v", i64, f64, s, v, err)
	}
	// Conversions: integral FLOAT into ints, INT into floats, text forms.
	if err := row("i = 7").Scan(&i, &i32, &bs, &v64); err != nil || i != 7 || i32 != 2 || string(bs) != "hi" || !reflect.DeepEqual(v64, []float64{1, 2}) {
		t.Errorf("Scan conversions = %v %v %q %v, %v", i, i32, bs, v64, err)
	}
	if err := row("i = 7").Scan(&f32, &f64, &a, &s); err != nil || f32 != 7 || a != "hi" || s != "[1, 2]" {
		t.Errorf("Scan = %v %v %v %q, %v", f32, f64, a, s, err)
	}
	if err := row("i = 7").Scan(&b, &f32, &s, &a); err != nil || !b || !reflect.DeepEqual(a, []float32{1, 2}) {
		t.Errorf("Scan *bool/*any = %v %v, %v", b, a, err)
	}
	if err := row("i = 7").Scan(&s, &i, &i, &i); err == nil || !strings.Contains(err.Error(), "column 3 (s)") {
		t.Errorf("TEXT into *int: %v", err)
	}
	// Narrow and unsigned integers take what fits; what does not is an
	// error, as is a FLOAT past float32's range (not ±Inf).
	var (
		i8  int8
		i16 int16
		u   uint
		u8  uint8
		u64 uint64
	)
	if err := db.QueryRow(ctx, "SELECT 127, -32768, 7, 255, 9223372036854775807").Scan(&i8, &i16, &u, &u8, &u64); err != nil || i8 != 127 || i16 != -32768 || u != 7 || u8 != 255 || u64 != math.MaxInt64 {
		t.Errorf("narrow and unsigned = %v %v %v %v %v, %v", i8, i16, u, u8, u64, err)
	}
	for _, c := range []struct {
		sql  string
		dest any
	}{{"SELECT 128", &i8}, {"SELECT -1", &u}, {"SELECT 256", &u8}, {"SELECT 1e300", &f32}, {"SELECT -1e39", &f32}} {
		if err := db.QueryRow(ctx, c.sql).Scan(c.dest); err == nil || !strings.Contains(err.Error(), "cannot scan") {
			t.Errorf("%s into %T: %v, want an error", c.sql, c.dest, err)
		}
	}
	// NULL: **T, *any, sql.Null*; other destinations are an error.
	var (
		pi *int64
		ns sql.NullString
		pv *[]float32
	)
	pi = new(int64)
	if err := row("i IS NULL").Scan(&pi, &a, &ns, &pv); err != nil || pi != nil || a != nil || ns.Valid || pv != nil {
		t.Errorf("Scan NULLs = %v %v %v %v, %v", pi, a, ns, pv, err)
	}
	if err := row("i = 7").Scan(&pi, &a, &ns, &pv); err != nil || *pi != 7 || !ns.Valid || ns.String != "hi" || !reflect.DeepEqual(*pv, []float32{1, 2}) {
		t.Errorf("Scan non-NULLs into **T = %v %v %v, %v", pi, ns, pv, err)
	}
	if err := row("i IS NULL").Scan(&i, &a, &a, &a); err == nil || !strings.Contains(err.Error(), "NULL") {
		t.Errorf("NULL into *int: %v", err)
	}
	if err := row("i = 7").Scan(&i); err == nil {
		t.Error("Scan with too few destinations")
	}
	var rows softdb.Rows
	if err := rows.Scan(&i); err == nil {
		t.Error("Scan before Next")
	}
	if err := db.QueryRow(ctx, "SELECT i FROM t WHERE i = 99").Scan(&i); !errors.Is(err, softdb.ErrNoRows) {
		t.Errorf("no row: %v", err)
	}
}

// TestVectorOwnership checks the lifetimes the docs promise: Scan gives
// the caller a fresh slice every time, Values shares the stored vector.
func TestVectorOwnership(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, softdb.Memory)
	mustExec(t, db, "CREATE TABLE t (v VECTOR(2))")
	arg := []float32{1, 1}
	mustExec(t, db, "INSERT INTO t VALUES (?)", arg)
	arg[0] = 99 // the argument was copied
	mustExec(t, db, "INSERT INTO t VALUES ([2, 2]), ([3, 3])")

	rows, err := db.Query(ctx, "SELECT v FROM t ORDER BY rowid")
	if err != nil {
		t.Fatal(err)
	}
	var all [][]float32
	var v []float32
	for rows.Next() {
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		all = append(all, v) // the natural loop must not alias rows
	}
	if want := [][]float32{{1, 1}, {2, 2}, {3, 3}}; !reflect.DeepEqual(all, want) {
		t.Errorf("scanned %v, want %v", all, want)
	}
	all[0][0] = -1
	var again []float32
	if err := db.QueryRow(ctx, "SELECT v FROM t WHERE rowid = 1").Scan(&again); err != nil || again[0] != 1 {
		t.Errorf("modifying a scanned vector changed the database: %v %v", again, err)
	}
}

func TestPreparedStatements(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, t.TempDir())
	mustExec(t, db, "CREATE TABLE t (key VECTOR(2), label TEXT)")
	ins, err := db.Prepare(ctx, "INSERT INTO t VALUES (?, ?)")
	if err != nil {
		t.Fatal(err)
	}
	defer ins.Close()
	if ins.NumInput() != 2 || ins.String() != "INSERT INTO t VALUES (?, ?)" {
		t.Errorf("NumInput %d, String %q", ins.NumInput(), ins.String())
	}
	for i, l := range []string{"east", "north"} {
		v := []float32{0, 0}
		v[i] = 1
		if res, err := ins.Exec(ctx, v, l); err != nil || res.LastInsertID != int64(i+1) {
			t.Fatalf("Exec: %+v %v", res, err)
		}
	}
	q, err := db.Prepare(ctx, "HARD SELECT label FROM t MATCH $1")
	if err != nil {
		t.Fatal(err)
	}
	var label string
	if err := q.QueryRow(ctx, []float32{0.1, 0.9}).Scan(&label); err != nil || label != "north" {
		t.Errorf("prepared HARD SELECT = %q, %v", label, err)
	}
	rows, err := q.Query(ctx, []float32{0.9, 0.1})
	if err != nil || !rows.Next() || rows.Values()[0] != "east" {
		t.Errorf("prepared Query: %v", err)
	}
	if _, err := q.Exec(ctx); !errors.Is(err, softdb.ErrValue) {
		t.Errorf("missing argument: %v", err)
	}

	// In a transaction: the Tx's Stmt sees its writes; rollback drops them.
	tx, err := db.Begin(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Stmt(ins).Exec(ctx, []float32{0, 5}, "far north"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Stmt(q).QueryRow(ctx, []float32{0, 1}).Scan(&label); err != nil || label != "far north" {
		t.Errorf("Tx.Stmt query = %q, %v", label, err)
	}
	if err := q.QueryRow(ctx, []float32{0, 1}).Scan(&label); err != nil || label != "north" {
		t.Errorf("outside the Tx = %q, %v", label, err)
	}
	txq := tx.Stmt(q)
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if _, err := txq.Query(ctx, []float32{0, 1}); !errors.Is(err, softdb.ErrTxDone) {
		t.Errorf("Tx.Stmt after Rollback: %v", err)
	}

	// Prepare reports syntax errors and refuses transaction control.
	if _, err := db.Prepare(ctx, "SELEC 1"); !errors.Is(err, softdb.ErrSyntax) {
		t.Errorf("Prepare syntax error: %v", err)
	}
	if _, err := db.Prepare(ctx, "BEGIN"); !errors.Is(err, softdb.ErrTx) {
		t.Errorf("Prepare BEGIN: %v", err)
	}
	if _, err := db.Prepare(ctx, "SELECT 1; SELECT 2"); !errors.Is(err, softdb.ErrSyntax) {
		t.Errorf("Prepare of two statements: %v", err)
	}
	// Tables may change between Prepare and use.
	late, err := db.Prepare(ctx, "SELECT count(*) FROM later")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := late.Query(ctx); !errors.Is(err, softdb.ErrNotFound) {
		t.Errorf("before CREATE: %v", err)
	}
	mustExec(t, db, "CREATE TABLE later (x INT)")
	var n int
	if err := late.QueryRow(ctx).Scan(&n); err != nil || n != 0 {
		t.Errorf("after CREATE: %d %v", n, err)
	}
	q.Close()
	if _, err := q.Query(ctx, []float32{1, 0}); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("closed Stmt: %v", err)
	}
}

func TestTransactions(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, t.TempDir())
	mustExec(t, db, "CREATE TABLE t (x INT)")
	count := func() int {
		t.Helper()
		var n int
		if err := db.QueryRow(ctx, "SELECT count(*) FROM t").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	tx, err := db.Begin(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tx.ReadOnly() {
		t.Error("Begin(nil) is read-only")
	}
	mustTx := func(sql string) {
		t.Helper()
		if _, err := tx.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	mustTx("INSERT INTO t VALUES (1), (2)")
	if _, err := tx.Exec(ctx, "INSERT INTO t VALUES ('not an int')"); !errors.Is(err, softdb.ErrType) {
		t.Errorf("bad insert: %v", err)
	}
	mustTx("INSERT INTO t VALUES (3)") // the Tx survives a failed statement
	var inside int
	if err := tx.QueryRow(ctx, "SELECT count(*) FROM t").Scan(&inside); err != nil || inside != 3 {
		t.Errorf("inside the Tx: %d %v", inside, err)
	}
	if n := count(); n != 0 {
		t.Errorf("others see %d uncommitted rows", n)
	}
	if _, err := tx.Exec(ctx, "COMMIT"); !errors.Is(err, softdb.ErrTx) {
		t.Errorf("COMMIT as SQL in a Tx: %v", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 3 {
		t.Errorf("after Commit: %d rows", n)
	}
	if err := tx.Commit(); !errors.Is(err, softdb.ErrTxDone) || !errors.Is(err, softdb.ErrTx) {
		t.Errorf("second Commit: %v", err)
	}
	if err := tx.Rollback(); !errors.Is(err, softdb.ErrTxDone) {
		t.Errorf("Rollback after Commit: %v", err)
	}
	if _, err := tx.Exec(ctx, "INSERT INTO t VALUES (4)"); !errors.Is(err, softdb.ErrTxDone) {
		t.Errorf("Exec after Commit: %v", err)
	}

	// Update commits on nil, rolls back on error and on panic.
	if err := db.Update(ctx, func(tx *softdb.Tx) error {
		_, err := tx.Exec(ctx, "INSERT INTO t VALUES (4)")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	if err := db.Update(ctx, func(tx *softdb.Tx) error {
		tx.Exec(ctx, "INSERT INTO t VALUES (5)")
		return boom
	}); err != boom {
		t.Errorf("Update returned %v, want fn's error", err)
	}
	func() {
		defer func() { recover() }()
		db.Update(ctx, func(tx *softdb.Tx) error {
			tx.Exec(ctx, "INSERT INTO t VALUES (6)")
			panic("boom")
		})
	}()
	if n := count(); n != 4 {
		t.Errorf("after Update: %d rows, want 4", n)
	}
	if err := db.Update(ctx, func(tx *softdb.Tx) error { return tx.Commit() }); err == nil || !strings.Contains(err.Error(), "Update or View") {
		t.Errorf("Commit inside Update: %v", err)
	}
	// The writer lock was released by every path above.
	mustExec(t, db, "INSERT INTO t VALUES (7)")

	// View: one snapshot for the whole closure, and no writes.
	err = db.View(ctx, func(tx *softdb.Tx) error {
		if !tx.ReadOnly() {
			t.Error("View's Tx is not read-only")
		}
		var before, after int
		tx.QueryRow(ctx, "SELECT count(*) FROM t").Scan(&before)
		mustExec(t, db, "INSERT INTO t VALUES (8)") // writers are not blocked
		tx.QueryRow(ctx, "SELECT count(*) FROM t").Scan(&after)
		if before != after {
			t.Errorf("View saw %d then %d rows", before, after)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO t VALUES (9)"); !errors.Is(err, softdb.ErrTx) {
			t.Errorf("write in View: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 6 {
		t.Errorf("after View: %d rows, want 6", n)
	}

	// A read-only Tx does not hold the writer lock.
	ro, err := db.Begin(ctx, &softdb.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	mustExec(t, db, "INSERT INTO t VALUES (10)")
	var n int
	if err := ro.QueryRow(ctx, "SELECT count(*) FROM t").Scan(&n); err != nil || n != 6 {
		t.Errorf("read-only Tx sees %d rows, want its snapshot's 6", n)
	}
	if err := ro.Commit(); err != nil {
		t.Error(err)
	}

	// DB.Exec and DB.Query refuse transaction control.
	for _, sql := range []string{"BEGIN", "COMMIT", "ROLLBACK"} {
		if _, err := db.Exec(ctx, sql); !errors.Is(err, softdb.ErrTx) {
			t.Errorf("DB.Exec(%s): %v", sql, err)
		}
		if _, err := db.Query(ctx, sql); !errors.Is(err, softdb.ErrTx) {
			t.Errorf("DB.Query(%s): %v", sql, err)
		}
	}

	// A second writer waits for the first, as long as its context allows.
	tx, err = db.Begin(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 20e6)
	defer cancel()
	if _, err := db.Begin(short, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("second Begin: %v", err)
	}
	if _, err := db.Exec(short, "INSERT INTO t VALUES (11)"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("DB.Exec while a Tx is open: %v", err)
	}
	tx.Rollback()
	mustExec(t, db, "INSERT INTO t VALUES (11)")
}

func TestConn(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, softdb.Memory)
	c := db.Conn()
	if _, err := c.Exec(ctx, "CREATE TABLE t (x INT); BEGIN; INSERT INTO t VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	if !c.InTx() {
		t.Error("InTx after BEGIN")
	}
	rows, err := c.Query(ctx, "SELECT count(*) FROM t")
	if err != nil || !rows.Next() || rows.Values()[0] != int64(1) {
		t.Errorf("Conn sees its own write: %v", err)
	}
	c.Close() // rolls back
	if c.InTx() {
		t.Error("InTx after Close")
	}
	if _, err := c.Exec(ctx, "SELECT 1"); err == nil {
		t.Error("Exec on a closed Conn")
	}
	var n int
	if err := db.QueryRow(ctx, "SELECT count(*) FROM t").Scan(&n); err != nil || n != 0 {
		t.Errorf("after Conn.Close: %d rows, %v", n, err)
	}
}

// TestErrors checks that each class of error can be told apart with
// errors.Is and errors.As, and keeps a specific message.
func TestErrors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := mustOpen(t, dir)
	mustExec(t, db, "CREATE TABLE t (id INT PRIMARY KEY, name TEXT NOT NULL, key VECTOR(3))")
	mustExec(t, db, "INSERT INTO t VALUES (1, 'a', [1, 0, 0])")

	cases := []struct {
		sql   string
		args  []any
		class error
		msg   string
	}{
		{"SELECT * FROM nope", nil, softdb.ErrNotFound, `"nope"`},
		{"SELECT nope FROM t", nil, softdb.ErrNotFound, "nope"},
		{"CREATE TABLE t (x INT)", nil, softdb.ErrExists, "already exists"},
		{"INSERT INTO t VALUES (1, 'b', NULL)", nil, softdb.ErrConstraint, "primary key"},
		{"INSERT INTO t VALUES (2, NULL, NULL)", nil, softdb.ErrConstraint, "NOT NULL"},
		{"INSERT INTO t VALUES (3, 'c', [1, 2])", nil, softdb.ErrDimension, "3"},
		{"HARD SELECT id FROM t MATCH ?", []any{[]float32{1, 2}}, softdb.ErrDimension, "dimension 2"},
		{"INSERT INTO t VALUES ('x', 'c', NULL)", nil, softdb.ErrType, "type mismatch"},
		{"SOFT SELECT key FROM t MATCH [1, 0, 0] TEMPERATURE -1", nil, softdb.ErrValue, "TEMPERATURE"},
		{"SELEC 1", nil, softdb.ErrSyntax, "1:1"},
	}
	for _, c := range cases {
		_, err := db.Exec(ctx, c.sql, c.args...)
		if !errors.Is(err, c.class) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: got %v, want %v containing %q", c.sql, err, c.class, c.msg)
		}
		for _, other := range []error{softdb.ErrNotFound, softdb.ErrExists, softdb.ErrConstraint, softdb.ErrDimension, softdb.ErrType, softdb.ErrValue, softdb.ErrSyntax, softdb.ErrLocked, softdb.ErrClosed} {
			if other != c.class && errors.Is(err, other) {
				t.Errorf("%s: %v also matches %v", c.sql, err, other)
			}
		}
	}

	// Syntax errors carry their position.
	_, err := db.Query(ctx, "SELECT id\nFROM t WHERE id = = 1")
	var se *softdb.SyntaxError
	if !errors.As(err, &se) || se.Line != 2 || se.Col != 19 || se.Msg == "" || !strings.HasPrefix(err.Error(), "2:19: ") {
		t.Errorf("syntax error = %#v (%v), want line 2 col 19", se, err)
	}

	// Locked: a second DB on the same directory in this process.
	if _, err := softdb.Open(dir, nil); !errors.Is(err, softdb.ErrLocked) || !strings.Contains(err.Error(), "locked") {
		t.Errorf("second Open of a directory: %v", err)
	}

	// Closed.
	db.Close()
	if _, err := db.Exec(ctx, "SELECT 1"); !errors.Is(err, softdb.ErrClosed) {
		t.Errorf("Exec after Close: %v", err)
	}
	if _, err := db.Query(ctx, "SELECT 1"); !errors.Is(err, softdb.ErrClosed) {
		t.Errorf("Query after Close: %v", err)
	}
	if _, err := db.Begin(ctx, nil); !errors.Is(err, softdb.ErrClosed) {
		t.Errorf("Begin after Close: %v", err)
	}
	if err := db.Ping(ctx); !errors.Is(err, softdb.ErrClosed) {
		t.Errorf("Ping after Close: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestCloseAndReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := softdb.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	mustExec(t, db, "CREATE TABLE t (key VECTOR(2), n INT)")
	mustExec(t, db, "INSERT INTO t VALUES ([1, 0], 1), ([0, 1], 2)")
	rows, err := db.Query(ctx, "SELECT n FROM t ORDER BY n")
	if err != nil {
		t.Fatal(err)
	}
	// A transaction left open is rolled back by Close.
	tx, err := db.Begin(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "INSERT INTO t VALUES ([5, 5], 3)"); err != nil {
		t.Fatal(err)
	}
	conn := db.Conn()
	if _, err := conn.Exec(ctx, "SELECT 1"); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); !errors.Is(err, softdb.ErrClosed) {
		t.Errorf("Commit after Close: %v", err)
	}
	if _, err := conn.Exec(ctx, "SELECT 1"); !errors.Is(err, softdb.ErrClosed) {
		t.Errorf("Conn after Close: %v", err)
	}
	// Rows returned before Close stay readable.
	var ns []int64
	for rows.Next() {
		ns = append(ns, rows.Values()[0].(int64))
	}
	if !reflect.DeepEqual(ns, []int64{1, 2}) {
		t.Errorf("rows after Close: %v", ns)
	}

	for i := 0; i < 3; i++ {
		db, err = softdb.Open(dir, nil)
		if err != nil {
			t.Fatalf("reopen %d: %v", i, err)
		}
		var n int
		if err := db.QueryRow(ctx, "SELECT count(*) FROM t").Scan(&n); err != nil || n != 2+i {
			t.Errorf("reopen %d: %d rows, %v", i, n, err)
		}
		mustExec(t, db, "INSERT INTO t VALUES ([1, 1], 9)")
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCloseInsideUpdate: Close from inside a transaction's closure rolls
// the transaction back instead of waiting for it.
func TestCloseInsideUpdate(t *testing.T) {
	ctx := context.Background()
	db, err := softdb.Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	mustExec(t, db, "CREATE TABLE t (x INT)")
	err = db.Update(ctx, func(tx *softdb.Tx) error {
		if _, err := tx.Exec(ctx, "INSERT INTO t VALUES (1)"); err != nil {
			return err
		}
		return db.Close()
	})
	if !errors.Is(err, softdb.ErrClosed) {
		t.Errorf("Update around Close: %v, want ErrClosed", err)
	}
	err = db.View(ctx, func(tx *softdb.Tx) error { return nil })
	if !errors.Is(err, softdb.ErrClosed) {
		t.Errorf("View after Close: %v", err)
	}
}

// TestTextArgUTF8: a TEXT argument that is not UTF-8 is refused, naming
// the argument and the byte, and nothing is written.
func TestTextArgUTF8(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, softdb.Memory)
	mustExec(t, db, "CREATE TABLE t (s TEXT)")
	for _, arg := range []any{"ok\xff", []byte("\xc3(")} {
		_, err := db.Exec(ctx, "INSERT INTO t VALUES (?)", arg)
		if err == nil || !strings.Contains(err.Error(), "argument $1: invalid UTF-8 in text at byte") {
			t.Errorf("INSERT %q: %v", arg, err)
		}
	}
	mustExec(t, db, "INSERT INTO t VALUES (?)", "héllo")
	var n int
	if err := db.QueryRow(ctx, "SELECT count(*) FROM t").Scan(&n); err != nil || n != 1 {
		t.Errorf("%d rows, %v; want the one valid row", n, err)
	}
}
