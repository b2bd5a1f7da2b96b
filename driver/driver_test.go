package driver_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/softdb/softdb"
	"github.com/softdb/softdb/driver"
)

func open(t testing.TB, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("softdb", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func mustExec(t testing.TB, db interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, query string, args ...any) sql.Result {
	t.Helper()
	res, err := db.ExecContext(context.Background(), query, args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return res
}

func count(t testing.TB, db *sql.DB, table string) int {
	t.Helper()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestBasics(t *testing.T) {
	db := open(t, t.TempDir())
	if err := db.Ping(); err != nil {
		t.Fatal(err)
	}
	mustExec(t, db, "CREATE TABLE memory (key VECTOR(2), value VECTOR(2), label TEXT)")
	res := mustExec(t, db, "INSERT INTO memory VALUES ($1, $2, $3), ($4, $5, $6)",
		[]float32{1, 0}, []float32{10, 0}, "east", []float32{0, 1}, []float32{0, 10}, "north")
	if n, err := res.RowsAffected(); n != 2 || err != nil {
		t.Errorf("RowsAffected = %d, %v", n, err)
	}
	if id, err := res.LastInsertId(); id != 2 || err != nil {
		t.Errorf("LastInsertId = %d, %v", id, err)
	}
	var label string
	var score float64
	if err := db.QueryRow("HARD SELECT label, score FROM memory MATCH ?", []float32{0.9, 0.2}).Scan(&label, &score); err != nil || label != "east" {
		t.Errorf("HARD SELECT = %q %v, %v", label, score, err)
	}
	// The blend scans straight into *[]float32.
	var blend []float32
	if err := db.QueryRow("SOFT SELECT value FROM memory MATCH ? TEMPERATURE 0", []float32{0.1, 0.9}).Scan(&blend); err != nil || !reflect.DeepEqual(blend, []float32{0, 10}) {
		t.Errorf("SOFT SELECT = %v, %v", blend, err)
	}
	if err := db.QueryRow("SELECT label FROM memory WHERE label = 'west'").Scan(&label); err != sql.ErrNoRows {
		t.Errorf("no rows: %v", err)
	}
}

func TestVectorArgumentsAndScanning(t *testing.T) {
	ctx := context.Background()
	db := open(t, softdb.Memory)
	db.SetMaxOpenConns(1) // one connection: the same in-memory DB for sure
	mustExec(t, db, "CREATE TABLE t (id INT, v VECTOR(3))")
	type embedding []float32
	args := []any{
		[]float32{1, 2, 3},
		driver.Vector{4, 5, 6},
		[]float64{7, 8, 9},
		embedding{10, 11, 12},
		nil,
		driver.Vector(nil),
	}
	for i, a := range args {
		mustExec(t, db, "INSERT INTO t VALUES (?, ?)", i, a)
	}
	want := [][]float32{{1, 2, 3}, {4, 5, 6}, {7, 8, 9}, {10, 11, 12}, nil, nil}

	// What users write: a *[]float32 in the natural loop. Each row is a
	// new slice, so appending v keeps every row.
	rows, err := db.QueryContext(ctx, "SELECT v FROM t WHERE v IS NOT NULL ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	var got [][]float32
	var v []float32
	for rows.Next() {
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want[:4]) {
		t.Errorf("*[]float32: %v, want %v", got, want[:4])
	}

	// driver.Vector and *any also handle NULL.
	rows, err = db.QueryContext(ctx, "SELECT v, v FROM t ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	var vecs [][]float32
	var anys []any
	for rows.Next() {
		var dv driver.Vector
		var a any
		if err := rows.Scan(&dv, &a); err != nil {
			t.Fatal(err)
		}
		vecs = append(vecs, dv)
		anys = append(anys, a)
	}
	for i := range want {
		if !reflect.DeepEqual(vecs[i], want[i]) && !(vecs[i] == nil && want[i] == nil) {
			t.Errorf("driver.Vector row %d: %v, want %v", i, vecs[i], want[i])
		}
		if want[i] == nil && anys[i] != nil || want[i] != nil && !reflect.DeepEqual(anys[i], want[i]) {
			t.Errorf("*any row %d: %#v, want %v", i, anys[i], want[i])
		}
	}
	// sql.Null works over *[]float32 as well.
	var nv sql.Null[[]float32]
	if err := db.QueryRow("SELECT v FROM t WHERE id = 4").Scan(&nv); err != nil || nv.Valid {
		t.Errorf("sql.Null of NULL: %v, %v", nv, err)
	}
	if err := db.QueryRow("SELECT v FROM t WHERE id = 0").Scan(&nv); err != nil || !nv.Valid || !reflect.DeepEqual(nv.V, want[0]) {
		t.Errorf("sql.Null of a vector: %v, %v", nv, err)
	}
	// The text form scans into a string via driver.Vector's String.
	var dv driver.Vector
	if err := db.QueryRow("SELECT v FROM t WHERE id = 1").Scan(&dv); err != nil || dv.String() != "[4, 5, 6]" {
		t.Errorf("Vector.String = %q, %v", dv.String(), err)
	}
	if err := dv.Scan("[1, 2.5]"); err != nil || !reflect.DeepEqual(dv, driver.Vector{1, 2.5}) {
		t.Errorf("Vector.Scan(text) = %v, %v", dv, err)
	}
	if val, err := (driver.Vector{1, 2.5}).Value(); err != nil || val != "[1, 2.5]" {
		t.Errorf("Vector.Value = %v, %v", val, err)
	}
	// Modifying a scanned vector does not reach the database.
	got[0][0] = -1
	if err := db.QueryRow("SELECT v FROM t WHERE id = 0").Scan(&v); err != nil || v[0] != 1 {
		t.Errorf("after modifying a scanned vector: %v, %v", v, err)
	}
}

func TestColumnTypes(t *testing.T) {
	db := open(t, softdb.Memory)
	db.SetMaxOpenConns(1)
	mustExec(t, db, "CREATE TABLE t (i INT, f FLOAT, s TEXT, v VECTOR(4))")
	rows, err := db.Query("SELECT i, f, s, v, NULL FROM t")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cts, err := rows.ColumnTypes()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ct := range cts {
		n, ok := ct.Length()
		got = append(got, fmt.Sprintf("%s %s %v %d %v", ct.Name(), ct.DatabaseTypeName(), ct.ScanType(), n, ok))
	}
	want := []string{
		"i INT int64 0 false", "f FLOAT float64 0 false", "s TEXT string 0 false",
		"v VECTOR []float32 4 true", "NULL  interface {} 0 false",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("column types:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestSharedDirectory: every sql.DB of a directory in this process shares
// one engine, which closes with the last of them.
func TestSharedDirectory(t *testing.T) {
	dir := t.TempDir()
	a, err := sql.Open("softdb", dir)
	if err != nil {
		t.Fatal(err)
	}
	// The same directory by another spelling, through a symbolic link.
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(dir, link); err != nil {
		t.Skip(err)
	}
	b, err := sql.Open("softdb", link+"/.")
	if err != nil {
		t.Fatalf("second sql.Open of one directory: %v", err)
	}
	mustExec(t, a, "CREATE TABLE t (x INT)")
	mustExec(t, b, "INSERT INTO t VALUES (1)")
	if n := count(t, a, "t"); n != 1 {
		t.Errorf("a sees %d rows of b", n)
	}
	// While the engine is open here, softdb.Open of the directory is
	// refused: share through the driver, or through one *softdb.DB.
	if _, err := softdb.Open(dir, nil); !errors.Is(err, softdb.ErrLocked) {
		t.Errorf("softdb.Open while the driver holds it: %v", err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	mustExec(t, b, "INSERT INTO t VALUES (2)") // b keeps the engine open
	if n := count(t, b, "t"); n != 2 {
		t.Errorf("b after a closed: %d rows", n)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	// The last Close released the directory.
	sdb, err := softdb.Open(dir, nil)
	if err != nil {
		t.Fatalf("softdb.Open after every sql.DB closed: %v", err)
	}
	// And a directory a softdb.DB holds cannot be opened by the driver.
	if _, err := sql.Open("softdb", dir); !errors.Is(err, softdb.ErrLocked) {
		t.Errorf("sql.Open of a directory a softdb.DB holds: %v", err)
	}
	sdb.Close()
	// Reopening through the driver works, and sees the data.
	c := open(t, dir)
	if n := count(t, c, "t"); n != 2 {
		t.Errorf("reopened: %d rows", n)
	}
}

func TestMemoryIsPerSQLDB(t *testing.T) {
	a, b := open(t, ":memory:"), open(t, "")
	mustExec(t, a, "CREATE TABLE t (x INT)")
	if _, err := b.Exec("SELECT * FROM t"); !errors.Is(err, softdb.ErrNotFound) {
		t.Errorf("another sql.Open(:memory:) sees the table: %v", err)
	}
	// Within one sql.DB, all pooled connections share the database.
	a.SetMaxOpenConns(8)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Holding a Rows keeps each connection busy, so the pool opens more.
			rows, err := a.Query("SELECT count(*) FROM t")
			if err != nil {
				t.Error(err)
				return
			}
			time.Sleep(10 * time.Millisecond)
			rows.Close()
			mustExec(t, a, "INSERT INTO t VALUES (?)", i)
		}()
	}
	wg.Wait()
	if n := count(t, a, "t"); n != 8 {
		t.Errorf("%d rows, want 8", n)
	}
	if st := a.Stats(); st.MaxOpenConnections != 8 || st.OpenConnections < 2 {
		t.Logf("pool stats: %+v", st)
	}
}

func TestNewConnector(t *testing.T) {
	sdb, err := softdb.Open(softdb.Memory, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sdb.Close()
	if _, err := sdb.Exec(context.Background(), "CREATE TABLE t (x INT); INSERT INTO t VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(driver.NewConnector(sdb))
	if n := count(t, db, "t"); n != 1 {
		t.Errorf("%d rows through the connector", n)
	}
	db.Close()
	// The caller still owns sdb.
	if err := sdb.Ping(context.Background()); err != nil {
		t.Errorf("closing the sql.DB closed the caller's DB: %v", err)
	}
}

func TestTransactions(t *testing.T) {
	ctx := context.Background()
	db := open(t, t.TempDir())
	mustExec(t, db, "CREATE TABLE t (x INT PRIMARY KEY)")

	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	mustExec(t, tx, "INSERT INTO t VALUES (1), (2)")
	ins, err := tx.PrepareContext(ctx, "INSERT INTO t VALUES (?)")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ins.Exec(3); err != nil {
		t.Fatal(err)
	}
	var inside int
	if err := tx.QueryRow("SELECT count(*) FROM t").Scan(&inside); err != nil || inside != 3 {
		t.Errorf("inside: %d %v", inside, err)
	}
	if n := count(t, db, "t"); n != 0 {
		t.Errorf("outside sees %d uncommitted rows", n)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if n := count(t, db, "t"); n != 3 {
		t.Errorf("after commit: %d", n)
	}

	// Rollback, and a Stmt prepared on the DB used inside a Tx.
	ins2, err := db.Prepare("INSERT INTO t VALUES (?)")
	if err != nil {
		t.Fatal(err)
	}
	tx, err = db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Stmt(ins2).Exec(4); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec("INSERT INTO t VALUES (1)"); !errors.Is(err, softdb.ErrConstraint) {
		t.Errorf("duplicate key in a Tx: %v", err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if n := count(t, db, "t"); n != 3 {
		t.Errorf("after rollback: %d", n)
	}
	if _, err := ins2.Exec(5); err != nil {
		t.Fatal(err)
	}

	// Read-only transactions read one snapshot and refuse writes.
	ro, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	mustExec(t, db, "INSERT INTO t VALUES (6)")
	var n int
	if err := ro.QueryRow("SELECT count(*) FROM t").Scan(&n); err != nil || n != 4 {
		t.Errorf("read-only Tx: %d rows, %v; want its snapshot's 4", n, err)
	}
	if _, err := ro.Exec("INSERT INTO t VALUES (7)"); !errors.Is(err, softdb.ErrTx) {
		t.Errorf("write in a read-only Tx: %v", err)
	}
	ro.Rollback()

	// Isolation levels: softdb's transactions are serializable.
	tx, err = db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelSerializable})
	if err != nil {
		t.Errorf("LevelSerializable: %v", err)
	} else {
		tx.Rollback()
	}
	for _, l := range []sql.IsolationLevel{sql.LevelReadUncommitted, sql.LevelReadCommitted, sql.LevelRepeatableRead, sql.LevelSnapshot, sql.LevelLinearizable} {
		_, err := db.BeginTx(ctx, &sql.TxOptions{Isolation: l})
		if err == nil || !strings.Contains(err.Error(), l.String()) || !strings.Contains(err.Error(), "serializable") {
			t.Errorf("%s: %v", l, err)
		}
	}
	// SQL transaction control goes through BeginTx.
	if _, err := db.Exec("BEGIN"); !errors.Is(err, softdb.ErrTx) {
		t.Errorf("BEGIN through Exec: %v", err)
	}
	// A cancelled Tx context rolls it back.
	cctx, cancel := context.WithCancel(ctx)
	tx, err = db.BeginTx(cctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	mustExec(t, tx, "INSERT INTO t VALUES (100)")
	cancel()
	if err := tx.Commit(); err == nil {
		t.Error("Commit after the context was cancelled")
	}
	mustExec(t, db, "INSERT INTO t VALUES (100)") // the writer lock is free again
}

func TestErrors(t *testing.T) {
	db := open(t, softdb.Memory)
	db.SetMaxOpenConns(1)
	mustExec(t, db, "CREATE TABLE t (id INT PRIMARY KEY, key VECTOR(2))")
	mustExec(t, db, "INSERT INTO t VALUES (1, [1, 0])")
	for _, c := range []struct {
		query string
		args  []any
		class error
	}{
		{"SELECT * FROM nope", nil, softdb.ErrNotFound},
		{"INSERT INTO t VALUES (1, NULL)", nil, softdb.ErrConstraint},
		{"HARD SELECT id FROM t MATCH ?", []any{[]float32{1, 0, 0}}, softdb.ErrDimension},
		{"SELECT * FROM t WHERE id = ?", []any{1, 2}, softdb.ErrValue},
		{"SELEC 1", nil, softdb.ErrSyntax},
	} {
		_, err := db.Exec(c.query, c.args...)
		if !errors.Is(err, c.class) {
			t.Errorf("Exec %s: %v, want %v", c.query, err, c.class)
		}
		_, err = db.Query(c.query, c.args...)
		if !errors.Is(err, c.class) {
			t.Errorf("Query %s: %v, want %v", c.query, err, c.class)
		}
	}
	_, err := db.Query("SELECT id\nFROM t WHERE id = = 1")
	var se *softdb.SyntaxError
	if !errors.As(err, &se) || se.Line != 2 {
		t.Errorf("SyntaxError through database/sql: %v", err)
	}
	if _, err := db.Exec("SELECT * FROM t WHERE id = ?", sql.Named("id", 1)); err == nil || !strings.Contains(err.Error(), "named parameter") {
		t.Errorf("named parameter: %v", err)
	}
	if _, err := db.Exec("SELECT * FROM t WHERE id = ?", time.Now()); !errors.Is(err, softdb.ErrType) {
		t.Errorf("time.Time argument: %v", err)
	}
	stmt, err := db.Prepare("SELECT * FROM t WHERE id = ?")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stmt.Query(); err == nil || !strings.Contains(err.Error(), "expected 1 arguments") {
		t.Errorf("prepared statement with a missing argument: %v", err)
	}
}

// TestCancel: a cancelled context stops a scan through database/sql too.
func TestCancel(t *testing.T) {
	db := open(t, softdb.Memory)
	db.SetMaxOpenConns(1)
	mustExec(t, db, "CREATE TABLE t (key VECTOR(8), value VECTOR(8))")
	stmt, err := db.Prepare("INSERT INTO t VALUES " + strings.TrimSuffix(strings.Repeat("(?, ?), ", 1000), ", "))
	if err != nil {
		t.Fatal(err)
	}
	args := make([]any, 2000)
	for i := range args {
		args[i] = []float32{float32(i % 7), 1, 2, 3, 4, 5, 6, float32(i % 5)}
	}
	for i := 0; i < 30; i++ {
		if _, err := stmt.Exec(args...); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var v []float32
	err = db.QueryRowContext(ctx, "SOFT SELECT value FROM t MATCH (SELECT key FROM t)").Scan(&v)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled query: %v", err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 5*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = db.QueryRowContext(ctx, "SOFT SELECT value FROM t MATCH (SELECT key FROM t)").Scan(&v)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("30,000 × 30,000 batch with a 5 ms deadline: %v after %v", err, time.Since(start))
	}
	if err := db.QueryRow("SELECT count(*) FROM t").Scan(new(int)); err != nil {
		t.Errorf("after cancellations: %v", err)
	}
}

// TestConcurrentUse hammers one sql.DB from many goroutines: readers
// check that count and sum agree (every row has x = 1) while writers add
// rows, some in transactions.
func TestConcurrentUse(t *testing.T) {
	dir := t.TempDir()
	db := open(t, dir)
	other := open(t, dir) // a second sql.DB on the shared engine
	db.SetMaxOpenConns(6)
	mustExec(t, db, "CREATE TABLE t (x INT, key VECTOR(2))")
	mustExec(t, db, "INSERT INTO t VALUES (1, [0, 0])")
	q, err := db.Prepare("SELECT count(*), sum(x) FROM t")
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for r := 0; r < 6; r++ {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				var n, sum int64
				var err error
				if r%2 == 0 {
					err = q.QueryRow().Scan(&n, &sum)
				} else {
					err = other.QueryRow("SELECT count(*), sum(x) FROM t").Scan(&n, &sum)
				}
				if err != nil || n != sum {
					t.Errorf("reader %d: count %d, sum %d, %v", r, n, sum, err)
					return
				}
			}
		}()
	}
	var writers sync.WaitGroup
	for w := 0; w < 2; w++ {
		writers.Add(1)
		go func() {
			defer writers.Done()
			for i := 0; i < 25; i++ {
				if i%2 == 0 {
					mustExec(t, db, "INSERT INTO t VALUES (1, ?), (1, ?)", []float32{float32(w), float32(i)}, []float32{0, 1})
					continue
				}
				tx, err := other.Begin()
				if err != nil {
					t.Error(err)
					return
				}
				mustExec(t, tx, "INSERT INTO t VALUES (1, [1, 1])")
				mustExec(t, tx, "INSERT INTO t VALUES (1, [2, 2])")
				if err := tx.Commit(); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	writers.Wait()
	close(stop)
	readers.Wait()
	if n := count(t, db, "t"); n != 1+2*25*2 {
		t.Errorf("%d rows, want %d", n, 1+2*25*2)
	}
}
