package server_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/softdb/softdb"
	"github.com/softdb/softdb/server"
)

// testServer serves a database in a fresh directory (real pebble) on a
// loopback port.
type testServer struct {
	srv  *server.Server
	db   *softdb.DB
	addr string
	dir  string
}

func startServer(t testing.TB, cfg server.Config) *testServer {
	t.Helper()
	dir := t.TempDir()
	db, err := softdb.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(db, cfg)
	ln, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	ts := &testServer{srv: srv, db: db, addr: ln.Addr().String(), dir: dir}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return ts
}

func (ts *testServer) dsn(extra string) string {
	host, port, _ := net.SplitHostPort(ts.addr)
	s := fmt.Sprintf("postgres://tester@%s:%s/softdb?sslmode=disable", host, port)
	if extra != "" {
		s = strings.Replace(s, "sslmode=disable", extra, 1)
	}
	return s
}

func connect(t testing.TB, ts *testServer) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, ts.dsn(""))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

func mustExec(t testing.TB, c *pgx.Conn, sql string, args ...any) pgconn.CommandTag {
	t.Helper()
	tag, err := c.Exec(context.Background(), sql, args...)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return tag
}

// TestPgx drives the extended protocol through pgx: typed parameters
// (binary int8 and float8, float4[] and text vectors), typed results,
// prepared statements, transactions and errors with SQLSTATEs.
func TestPgx(t *testing.T) {
	ts := startServer(t, server.Config{})
	c := connect(t, ts)
	ctx := context.Background()
	mustExec(t, c, "CREATE TABLE docs (id INT PRIMARY KEY, key VECTOR(3), label TEXT, w FLOAT)")
	tag := mustExec(t, c, "INSERT INTO docs VALUES ($1, $2, $3, $4)", int64(1), []float32{1, 0, 0}, "first", 0.25)
	if tag.String() != "INSERT 0 1" {
		t.Errorf("tag %q", tag)
	}
	mustExec(t, c, "INSERT INTO docs VALUES ($1, $2, $3, $4)", 2, "[0,1,0]", "42", nil)
	mustExec(t, c, "INSERT INTO docs VALUES (3, '{0,0,1}', 'third', 2.5)")

	// Typed results: INT as int8, FLOAT as float8, VECTOR as text.
	var id int64
	var key, label string
	var w *float64
	if err := c.QueryRow(ctx, "SELECT id, key, label, w FROM docs WHERE id = $1", 2).Scan(&id, &key, &label, &w); err != nil {
		t.Fatal(err)
	}
	if id != 2 || key != "[0,1,0]" || label != "42" || w != nil {
		t.Errorf("row 2 = %d %q %q %v", id, key, label, w)
	}
	// A TEXT column compared with a numeric-looking string parameter.
	var n int64
	if err := c.QueryRow(ctx, "SELECT count(*) FROM docs WHERE label = $1", "42").Scan(&n); err != nil || n != 1 {
		t.Errorf("count label='42' = %d, %v", n, err)
	}

	// SOFT SELECT with the query vector as float4[] and as text: the
	// blend of w at T→small is row 1's w, and both forms agree.
	for _, q := range []any{[]float32{10, 0, 0}, "[10,0,0]", "{10,0,0}"} {
		var blended float64
		err := c.QueryRow(ctx, "SOFT SELECT w FROM docs MATCH $1 TEMPERATURE $2", q, 0.5).Scan(&blended)
		if err != nil {
			t.Fatalf("MATCH %v: %v", q, err)
		}
		// Reference: weights softmax(score/T) over the rows whose w is not
		// NULL (rows 1 and 3; each blended item masks its own NULLs).
		s1, s3 := 10.0/0.5, 0.0/0.5
		m := math.Max(s1, s3)
		e1, e3 := math.Exp(s1-m), math.Exp(s3-m)
		want := (0.25*e1 + 2.5*e3) / (e1 + e3)
		if math.Abs(blended-want) > 1e-9 {
			t.Errorf("MATCH %v: blend %v, want %v", q, blended, want)
		}
	}

	// A prepared statement run several times.
	if _, err := c.Prepare(ctx, "byid", "SELECT label FROM docs WHERE id = $1"); err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"first", "42", "third"} {
		var got string
		if err := c.QueryRow(ctx, "byid", int64(i+1)).Scan(&got); err != nil || got != want {
			t.Errorf("byid(%d) = %q, %v", i+1, got, err)
		}
	}

	// Transactions: a rolled-back insert is gone, a committed one stays.
	tx, err := c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "INSERT INTO docs VALUES (4, [1,1,1], 'gone', 1)"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	tx, err = c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "INSERT INTO docs VALUES ($1, $2, $3, $4)", 5, []float32{1, 1, 1}, "kept", 1.0); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	// An error aborts the transaction (extended protocol): the next
	// statement is refused with 25P02 and Commit rolls back what came
	// before the error.
	tx, err = c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "INSERT INTO docs VALUES ($1, $2, $3, $4)", 6, []float32{1, 1, 1}, "not kept", 1.0); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "INSERT INTO docs VALUES ($1, $2, $3, $4)", 7, []float32{1, 1}, "bad", 1.0); err == nil {
		t.Fatal("a 2-d vector into VECTOR(3) was accepted")
	}
	if _, err := tx.Exec(ctx, "SELECT 1"); pgCode(err) != "25P02" {
		t.Errorf("after an error in the transaction: %v, want 25P02", err)
	}
	if err := tx.Commit(ctx); err == nil {
		t.Error("Commit of an aborted transaction reported success")
	}
	var labels []string
	rows, err := c.Query(ctx, "SELECT label FROM docs ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		labels = append(labels, s)
	}
	if rows.Err() != nil || strings.Join(labels, ",") != "first,42,third,kept" {
		t.Errorf("labels %v, %v", labels, rows.Err())
	}

	// Errors carry their SQLSTATE, and syntax errors their position.
	for _, tc := range []struct {
		sql  string
		code string
		pos  int32
	}{
		{"SELECT * FROM nope", "42P01", 15},
		{"SELECT nope FROM docs", "42703", 8},
		{"SELEC 1", "42601", 1},
		{"INSERT INTO docs VALUES (1, [1,0,0], 'dup', 0)", "23505", 0},
		{"INSERT INTO docs VALUES (9, [1,0], 'short', 0)", "22000", 0},
		{"CREATE TABLE docs (id INT)", "42P07", 0},
		{"SELECT * FROM pg_catalog.pg_class", "0A000", 0},
	} {
		_, err := c.Exec(ctx, tc.sql)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != tc.code {
			t.Errorf("%s: error %v, want SQLSTATE %s", tc.sql, err, tc.code)
			continue
		}
		if tc.pos != 0 && pe.Position != tc.pos {
			t.Errorf("%s: position %d, want %d (%s)", tc.sql, pe.Position, tc.pos, pe.Message)
		}
	}
	// The connection goes on after errors.
	if err := c.QueryRow(ctx, "SELECT count(*) FROM docs").Scan(&n); err != nil || n != 4 {
		t.Errorf("count = %d, %v", n, err)
	}
	// Binary parameters as a client may send them: int8, float8 and a
	// float4[] array (array_send's layout), with binary results.
	arr := []byte{0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x02, 0xbc, 0, 0, 0, 3, 0, 0, 0, 1}
	for _, f := range []float32{0, 0, 7} {
		arr = append(arr, 0, 0, 0, 4)
		arr = binary.BigEndian.AppendUint32(arr, math.Float32bits(f))
	}
	rr := c.PgConn().ExecParams(ctx, "HARD SELECT id, score FROM docs MATCH $1 LIMIT $2",
		[][]byte{arr, binary.BigEndian.AppendUint64(nil, 1)}, []uint32{1021, 20}, []int16{1, 1}, []int16{1, 1}).Read()
	if rr.Err != nil || len(rr.Rows) != 1 {
		t.Fatalf("binary parameters: %v %v", rr.Err, rr.Rows)
	}
	if got, score := int64(binary.BigEndian.Uint64(rr.Rows[0][0])), math.Float64frombits(binary.BigEndian.Uint64(rr.Rows[0][1])); got != 3 || score != 7 {
		t.Errorf("binary MATCH: id %d score %v, want 3 and 7", got, score)
	}
	// A malformed binary array is a clear error, not a crash.
	rr = c.PgConn().ExecParams(ctx, "HARD SELECT id FROM docs MATCH $1 LIMIT 1", [][]byte{arr[:17]}, []uint32{1021}, []int16{1}, nil).Read()
	if pgCode(rr.Err) != "22P02" {
		t.Errorf("truncated binary array: %v", rr.Err)
	}
	// What drivers ask when they connect.
	var v, schema string
	if err := c.QueryRow(ctx, "SELECT version()").Scan(&v); err != nil || !strings.HasPrefix(v, "PostgreSQL 15") {
		t.Errorf("version() = %q, %v", v, err)
	}
	if err := c.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil || schema != "public" {
		t.Errorf("current_schema() = %q, %v", schema, err)
	}
	mustExec(t, c, "SET application_name = 'softdb-test'")
	var app string
	if err := c.QueryRow(ctx, "SHOW application_name").Scan(&app); err != nil || app != "softdb-test" {
		t.Errorf("SHOW application_name = %q, %v", app, err)
	}
	if _, err := c.Exec(ctx, "SET no_such_setting = 1"); pgCode(err) != "42704" {
		t.Errorf("SET unknown: %v", err)
	}
	// softdb's own SHOWs go to softdb, not to the client settings.
	mustExec(t, c, "SET max_statement_memory = '1536MB'")
	var mem string
	if err := c.QueryRow(ctx, "SHOW max_statement_memory").Scan(&mem); err != nil || mem != "1536MB" {
		t.Errorf("SHOW max_statement_memory = %q, %v", mem, err)
	}
	rows, qerr := c.Query(ctx, "SHOW INDEXES")
	if qerr == nil {
		rows.Close()
		qerr = rows.Err()
	}
	if qerr != nil {
		t.Errorf("SHOW INDEXES: %v", qerr)
	}
}

// TestDatabaseSQL uses database/sql through pgx's stdlib driver.
func TestDatabaseSQL(t *testing.T) {
	ts := startServer(t, server.Config{})
	db, err := sql.Open("pgx", ts.dsn(""))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, "CREATE TABLE t (id INT, key VECTOR(2), name TEXT)"); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 10; i++ {
		if _, err := db.ExecContext(ctx, "INSERT INTO t VALUES ($1, $2, $3)", i, fmt.Sprintf("[%d,%d]", i, 10-i), fmt.Sprintf("n%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := tx.ExecContext(ctx, "DELETE FROM t WHERE id > $1", 7)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 3 {
		t.Errorf("DELETE affected %d rows, want 3", n)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	var name string
	var score float64
	if err := db.QueryRowContext(ctx, "HARD SELECT name, score FROM t MATCH $1 LIMIT 1", "[1,0]").Scan(&name, &score); err != nil {
		t.Fatal(err)
	}
	if name != "n7" || score != 7 {
		t.Errorf("HARD SELECT top 1 = %q %v, want n7 7", name, score)
	}
}

// TestLockTimeout: one writer at a time; a second waits up to the lock
// timeout, then gets 55P03; readers never wait.
func TestLockTimeout(t *testing.T) {
	ts := startServer(t, server.Config{LockTimeout: 300 * time.Millisecond})
	a, b := connect(t, ts), connect(t, ts)
	ctx := context.Background()
	mustExec(t, a, "CREATE TABLE t (id INT)")
	// BEGIN alone takes no lock (drivers send it before reads too): two
	// sessions in transactions that only read never wait.
	mustExec(t, a, "BEGIN")
	mustExec(t, b, "BEGIN")
	var n int64
	if err := b.QueryRow(ctx, "SELECT count(*) FROM t").Scan(&n); err != nil {
		t.Fatal(err)
	}
	mustExec(t, b, "COMMIT")
	mustExec(t, a, "INSERT INTO t VALUES (1)")
	start := time.Now()
	_, err := b.Exec(ctx, "INSERT INTO t VALUES (2)")
	if pgCode(err) != "55P03" {
		t.Fatalf("second writer: %v, want 55P03", err)
	}
	if d := time.Since(start); d < 250*time.Millisecond || d > 5*time.Second {
		t.Errorf("second writer waited %v, want about 300ms", d)
	}
	start = time.Now()
	if err := b.QueryRow(ctx, "SELECT count(*) FROM t").Scan(&n); err != nil || n != 0 {
		t.Errorf("reader during a write transaction: %d, %v", n, err)
	}
	if d := time.Since(start); d > 200*time.Millisecond {
		t.Errorf("reader waited %v", d)
	}
	mustExec(t, a, "COMMIT")
	mustExec(t, b, "INSERT INTO t VALUES (2)")
	if err := b.QueryRow(ctx, "SELECT count(*) FROM t").Scan(&n); err != nil || n != 2 {
		t.Errorf("after commit: %d, %v", n, err)
	}
}

// TestIdleInTransaction: a session idle inside a transaction is ended and
// its transaction rolled back, releasing the write lock.
func TestIdleInTransaction(t *testing.T) {
	ts := startServer(t, server.Config{IdleTxTimeout: 200 * time.Millisecond, LockTimeout: 3 * time.Second})
	a, b := connect(t, ts), connect(t, ts)
	ctx := context.Background()
	mustExec(t, a, "CREATE TABLE t (id INT)")
	mustExec(t, a, "BEGIN")
	mustExec(t, a, "INSERT INTO t VALUES (1)")
	time.Sleep(600 * time.Millisecond)
	if _, err := a.Exec(ctx, "COMMIT"); err == nil {
		t.Fatal("COMMIT after the idle-in-transaction timeout succeeded")
	}
	mustExec(t, b, "INSERT INTO t VALUES (2)")
	var n int64
	if err := b.QueryRow(ctx, "SELECT count(*) FROM t").Scan(&n); err != nil || n != 1 {
		t.Errorf("rows = %d, %v; want 1 (the idle transaction rolled back)", n, err)
	}
}

// TestCancel: a context deadline makes pgx send a CancelRequest; the
// long statement stops promptly with 57014 and the session goes on.
func TestCancel(t *testing.T) {
	ts := startServer(t, server.Config{})
	c := connect(t, ts)
	loadRandom(t, c, "big", 20000, 32)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	// Every row against every row: far longer than the deadline.
	_, err := c.Exec(ctx, "SOFT SELECT count(*) FROM big MATCH (SELECT key FROM big)")
	if err == nil {
		t.Fatal("the statement finished before its deadline; make it longer")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("cancel took %v", d)
	}
	// pgx closes its connection after a timeout; the server lives on.
	c2 := connect(t, ts)
	var n int64
	if err := c2.QueryRow(context.Background(), "SELECT count(*) FROM big").Scan(&n); err != nil || n != 20000 {
		t.Errorf("after cancel: %d, %v", n, err)
	}
}

// loadRandom fills a table through COPY FROM STDIN (csv).
func loadRandom(t testing.TB, c *pgx.Conn, name string, rows, dim int) {
	t.Helper()
	mustExec(t, c, fmt.Sprintf("CREATE TABLE %s (id INT, key VECTOR(%d))", name, dim))
	var b strings.Builder
	seed := uint64(1)
	for i := 0; i < rows; i++ {
		fmt.Fprintf(&b, "%d,\"[", i)
		for j := 0; j < dim; j++ {
			seed = seed*6364136223846793005 + 1442695040888963407
			if j > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "%.3f", float64(seed>>40)/float64(1<<24)-0.5)
		}
		b.WriteString("]\"\n")
	}
	tag, err := c.PgConn().CopyFrom(context.Background(), strings.NewReader(b.String()), "COPY "+name+" FROM STDIN WITH (FORMAT csv)")
	if err != nil {
		t.Fatal(err)
	}
	if tag.RowsAffected() != int64(rows) {
		t.Fatalf("COPY loaded %d rows, want %d", tag.RowsAffected(), rows)
	}
}

// TestCopy: COPY FROM STDIN and TO STDOUT in csv and text, atomic on a
// bad row; COPY 'path' refused without --files.
func TestCopy(t *testing.T) {
	ts := startServer(t, server.Config{})
	c := connect(t, ts)
	ctx := context.Background()
	mustExec(t, c, "CREATE TABLE t (id INT, key VECTOR(2), name TEXT, w FLOAT)")
	// DESCRIBE lists an index among the rows: COPY's columns are the table's.
	mustExec(t, c, "CREATE INDEX t_key ON t (key)")
	in := "id\tkey\tname\tw\n1\t[1,2]\ttab\\there\t0.5\n2\t[3,4]\t\\N\t\\N\n3\t[5,6]\t\t1e-7\n"
	tag, err := c.PgConn().CopyFrom(ctx, strings.NewReader(in), "COPY t FROM STDIN WITH (FORMAT text, HEADER true)")
	if err != nil || tag.RowsAffected() != 3 {
		t.Fatalf("COPY text: %v %v", tag, err)
	}
	var out strings.Builder
	if _, err := c.PgConn().CopyTo(ctx, &out, "COPY t TO STDOUT"); err != nil {
		t.Fatal(err)
	}
	if want := "1\t[1,2]\ttab\\there\t0.5\n2\t[3,4]\t\\N\t\\N\n3\t[5,6]\t\t1e-07\n"; out.String() != want {
		t.Errorf("COPY TO STDOUT (text):\n%q\nwant\n%q", out.String(), want)
	}
	out.Reset()
	if _, err := c.PgConn().CopyTo(ctx, &out, "COPY t (name, id) TO STDOUT WITH (FORMAT csv, HEADER)"); err != nil {
		t.Fatal(err)
	}
	if want := "name,id\ntab\there,1\n,2\n\"\",3\n"; out.String() != want {
		t.Errorf("COPY TO STDOUT (csv):\n%q\nwant\n%q", out.String(), want)
	}
	// A round trip through csv: what went out comes back in equal.
	mustExec(t, c, "CREATE TABLE u (id INT, key VECTOR(2), name TEXT, w FLOAT)")
	out.Reset()
	if _, err := c.PgConn().CopyTo(ctx, &out, "COPY t TO STDOUT WITH CSV HEADER"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PgConn().CopyFrom(ctx, strings.NewReader(out.String()), "COPY u FROM STDIN WITH CSV HEADER"); err != nil {
		t.Fatal(err)
	}
	var same int64
	if err := c.QueryRow(ctx, "SELECT count(*) FROM u WHERE name IS NULL").Scan(&same); err != nil || same != 1 {
		t.Errorf("NULL names after the round trip: %d, %v", same, err)
	}
	var back strings.Builder
	if _, err := c.PgConn().CopyTo(ctx, &back, "COPY u TO STDOUT WITH CSV HEADER"); err != nil || back.String() != out.String() {
		t.Errorf("round trip:\n%q\n%q (%v)", back.String(), out.String(), err)
	}
	// A bad row anywhere loads nothing.
	_, err = c.PgConn().CopyFrom(ctx, strings.NewReader("10,\"[1,2]\",a,1\n11,\"[1,2,3]\",b,2\n"), "COPY t FROM STDIN (FORMAT csv)")
	if err == nil || !strings.Contains(err.Error(), "dimension") {
		t.Errorf("bad COPY: %v", err)
	}
	var n int64
	if err := c.QueryRow(ctx, "SELECT count(*) FROM t").Scan(&n); err != nil || n != 3 {
		t.Errorf("rows after a failed COPY: %d, %v", n, err)
	}
	// A missing table is the COPY's error, without a position in a
	// statement the client did not write.
	_, err = c.PgConn().CopyFrom(ctx, strings.NewReader("1\n"), "COPY nowhere FROM STDIN")
	if pgCode(err) != "42P01" || !strings.Contains(err.Error(), `ERROR: table "nowhere" does not exist`) {
		t.Errorf("COPY into a missing table: %v", err)
	}
	// The server's files are out of reach without --files.
	if _, err := c.Exec(ctx, "COPY t TO '/tmp/softdb-should-not-exist.csv'"); pgCode(err) != "42501" {
		t.Errorf("COPY to a server path: %v, want 42501", err)
	}
}

// TestLimits: more connections than allowed, a 1 GiB length prefix,
// garbage, and a client that stalls mid-message each lose their own
// connection with an error; the others go on.
func TestLimits(t *testing.T) {
	ts := startServer(t, server.Config{MaxConnections: 2, StallTimeout: 300 * time.Millisecond})
	a := connect(t, ts)
	b := connect(t, ts)
	_, err := pgx.Connect(context.Background(), ts.dsn(""))
	if pgCode(err) != "53300" {
		t.Errorf("third connection: %v, want 53300", err)
	}
	ping := func() {
		t.Helper()
		var n int64
		if err := a.QueryRow(context.Background(), "SELECT 1").Scan(&n); err != nil || n != 1 {
			t.Fatalf("the established session: %v", err)
		}
	}
	ping()
	b.Close(context.Background())
	// Now one slot is free for the raw connections below, one at a time.
	for _, tc := range []struct {
		name string
		send []byte
		want string
	}{
		{"1 GiB length prefix", []byte{'Q', 0x40, 0, 0, 4}, "54000"},
		{"garbage type byte", []byte("\x01\x00\x00\x00\x08junk"), "08P01"},
		{"stall mid-message", []byte{'Q', 0, 0, 0, 100, 'S', 'E', 'L'}, "08006"},
		{"negative length", []byte{'Q', 0xff, 0xff, 0xff, 0xff}, "08P01"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nc := rawStartup(t, ts.addr)
			defer nc.Close()
			if _, err := nc.Write(tc.send); err != nil {
				t.Fatal(err)
			}
			code := readErrorCode(t, nc)
			if code != tc.want {
				t.Errorf("got SQLSTATE %q, want %s", code, tc.want)
			}
		})
	}
	ping()
}

// rawStartup opens a connection and completes the startup exchange by
// hand, returning the socket ready for messages.
func rawStartup(t testing.TB, addr string) net.Conn {
	t.Helper()
	// A slot a closed client held is freed when the server has seen its
	// Terminate, which can be just after this dial: 53300 is retried for
	// a while.
	deadline := time.Now().Add(5 * time.Second)
	for {
		nc, code := tryStartup(t, addr)
		if nc != nil {
			return nc
		}
		if code != "53300" || time.Now().After(deadline) {
			t.Fatalf("startup refused: %s", code)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// tryStartup sends a startup packet and reads up to ReadyForQuery; on an
// ErrorResponse it returns the SQLSTATE instead.
func tryStartup(t testing.TB, addr string) (net.Conn, string) {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	body := []byte{0, 3, 0, 0}
	body = append(body, "user\x00raw\x00\x00"...)
	msg := append([]byte{0, 0, 0, byte(len(body) + 4)}, body...)
	if _, err := nc.Write(msg); err != nil {
		t.Fatal(err)
	}
	for {
		typ, body := readMessage(t, nc)
		switch typ {
		case 'Z':
			return nc, ""
		case 'E':
			nc.Close()
			return nil, errorField(body, 'C')
		}
	}
}

// errorField is field f of an ErrorResponse body.
func errorField(body []byte, f byte) string {
	for len(body) > 1 {
		end := bytes.IndexByte(body[1:], 0)
		if end < 0 {
			break
		}
		if body[0] == f {
			return string(body[1 : 1+end])
		}
		body = body[2+end:]
	}
	return ""
}

func readMessage(t testing.TB, nc net.Conn) (byte, []byte) {
	t.Helper()
	hdr := make([]byte, 5)
	if _, err := ioReadFull(nc, hdr); err != nil {
		t.Fatalf("read: %v", err)
	}
	n := int(hdr[1])<<24 | int(hdr[2])<<16 | int(hdr[3])<<8 | int(hdr[4])
	body := make([]byte, n-4)
	if _, err := ioReadFull(nc, body); err != nil {
		t.Fatalf("read: %v", err)
	}
	return hdr[0], body
}

func ioReadFull(nc net.Conn, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := nc.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// readErrorCode reads messages until an ErrorResponse and returns its
// SQLSTATE; then the server must close the connection.
func readErrorCode(t testing.TB, nc net.Conn) string {
	t.Helper()
	for {
		typ, body := readMessage(t, nc)
		if typ != 'E' {
			continue
		}
		code := ""
		for _, f := range strings.Split(string(body), "\x00") {
			if strings.HasPrefix(f, "C") {
				code = f[1:]
			}
		}
		one := make([]byte, 1)
		if _, err := nc.Read(one); err == nil {
			t.Errorf("connection still open after the error")
		}
		return code
	}
}

// TestAuthTLS: SCRAM-SHA-256 with a password file, wrong passwords and
// unknown users refused, TLS with sslmode=require.
func TestAuthTLS(t *testing.T) {
	ts := startServer(t, server.Config{Passwords: map[string]string{"alice": "s3cret:with colon"}, TLS: selfSigned(t)})
	host, port, _ := net.SplitHostPort(ts.addr)
	try := func(user, pw, ssl string) error {
		cfg, err := pgx.ParseConfig(fmt.Sprintf("postgres://%s@%s:%s/db?sslmode=%s", user, host, port, ssl))
		if err != nil {
			return err
		}
		cfg.Password = pw
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			return err
		}
		defer c.Close(ctx)
		var n int64
		if err := c.QueryRow(ctx, "SELECT 1").Scan(&n); err != nil {
			return err
		}
		if ssl == "require" && c.PgConn().Conn() != nil {
			if _, ok := c.PgConn().Conn().(*tls.Conn); !ok {
				return fmt.Errorf("sslmode=require: not a TLS connection")
			}
		}
		return nil
	}
	if err := try("alice", "s3cret:with colon", "require"); err != nil {
		t.Errorf("right password over TLS: %v", err)
	}
	if err := try("alice", "s3cret:with colon", "disable"); err != nil {
		t.Errorf("right password without TLS: %v", err)
	}
	if err := try("alice", "wrong", "require"); pgCode(err) != "28P01" {
		t.Errorf("wrong password: %v, want 28P01", err)
	}
	if err := try("mallory", "s3cret:with colon", "disable"); pgCode(err) != "28P01" {
		t.Errorf("unknown user: %v, want 28P01", err)
	}
	if err := server.CheckListen("0.0.0.0:5433", false); err == nil {
		t.Error("a non-loopback --listen without a password file was accepted")
	}
	if err := server.CheckListen("0.0.0.0:5433", true); err != nil {
		t.Errorf("non-loopback with a password file: %v", err)
	}
}

func selfSigned(t testing.TB) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"localhost"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

// TestShutdown: Shutdown cancels a running statement and closes sessions
// with 57P01.
func TestShutdown(t *testing.T) {
	dir := t.TempDir()
	db, err := softdb.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	srv := server.New(db, server.Config{})
	ln, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	ts := &testServer{srv: srv, db: db, addr: ln.Addr().String(), dir: dir}
	c := connect(t, ts)
	loadRandom(t, c, "big", 20000, 32)
	idle := connect(t, ts)
	// A client that connected and never sent its startup message.
	stuck, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer stuck.Close()
	done := make(chan error, 1)
	go func() {
		_, err := c.Exec(context.Background(), "SOFT SELECT count(*) FROM big MATCH (SELECT key FROM big)")
		done <- err
	}()
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Shutdown took %v", d)
	}
	if err := <-done; err == nil {
		t.Error("the running statement finished despite Shutdown")
	}
	if _, err := idle.Exec(context.Background(), "SELECT 1"); err == nil {
		t.Error("an idle session still works after Shutdown")
	}
	if srv.Sessions() != 0 {
		t.Errorf("%d sessions left", srv.Sessions())
	}
}

// TestCopyFiles: with --files DIR, COPY 'path' resolves relative paths
// against DIR and refuses every path outside it, symbolic links followed.
func TestCopyFiles(t *testing.T) {
	files := t.TempDir()
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "secret.csv"), []byte("id\n1\n"), 0o644)
	os.WriteFile(filepath.Join(files, "in.csv"), []byte("id\n7\n8\n"), 0o644)
	os.Symlink(filepath.Join(outside, "secret.csv"), filepath.Join(files, "link.csv"))
	os.Symlink(outside, filepath.Join(files, "dirlink"))
	ts := startServer(t, server.Config{FilesDir: files})
	c := connect(t, ts)
	ctx := context.Background()
	mustExec(t, c, "CREATE TABLE t (id INT)")
	if tag := mustExec(t, c, "COPY t FROM 'in.csv'"); tag.String() != "COPY 2" {
		t.Errorf("COPY FROM a relative path: %s", tag)
	}
	mustExec(t, c, "COPY t TO 'out.csv'")
	if b, err := os.ReadFile(filepath.Join(files, "out.csv")); err != nil || string(b) != "id\n7\n8\n" {
		t.Errorf("COPY TO a relative path wrote %q, %v", b, err)
	}
	mustExec(t, c, fmt.Sprintf("COPY t FROM '%s'", filepath.Join(files, "in.csv")))
	for _, p := range []string{"../" + filepath.Base(outside) + "/secret.csv", filepath.Join(outside, "secret.csv"), "link.csv", "dirlink/secret.csv", "dirlink/new.csv"} {
		verb := "FROM"
		if strings.HasSuffix(p, "new.csv") {
			verb = "TO"
		}
		_, err := c.Exec(ctx, fmt.Sprintf("COPY t %s '%s'", verb, p))
		if pgCode(err) != "42501" {
			t.Errorf("COPY %s '%s': %v, want 42501 (outside the files directory)", verb, p, err)
		}
	}
	if _, err := os.Stat(filepath.Join(outside, "new.csv")); err == nil {
		t.Error("COPY TO through a symbolic link wrote outside the files directory")
	}
	var n int64
	if err := c.QueryRow(ctx, "SELECT count(*) FROM t").Scan(&n); err != nil || n != 4 {
		t.Errorf("rows = %d, %v; want 4", n, err)
	}
}

// TestCommandTags: every statement without rows completes with its own
// PostgreSQL-style tag (clients such as psycopg2 read the count from it),
// the index and projection statements included.
func TestCommandTags(t *testing.T) {
	ts := startServer(t, server.Config{})
	c := connect(t, ts)
	for _, tc := range []struct{ sql, tag string }{
		{"CREATE TABLE t (k VECTOR(2), v FLOAT)", "CREATE TABLE"},
		{"INSERT INTO t VALUES ([1,0], 1), ([0,1], 2)", "INSERT 0 2"},
		{"UPDATE t SET v = 3 WHERE v = 2", "UPDATE 1"},
		{"CREATE INDEX ti ON t (k) WITH (lists = 1)", "CREATE INDEX"},
		{"REINDEX ti", "REINDEX"},
		{"DROP INDEX ti", "DROP INDEX"},
		{"CREATE PROJECTION p (2 -> 2) INIT IDENTITY", "CREATE PROJECTION"},
		{"DROP PROJECTION p", "DROP PROJECTION"},
		{"DELETE FROM t WHERE v = 1", "DELETE 1"},
		{"SOFT SELECT v FROM t MATCH [1,0]", "SELECT 1"},
		{"DROP TABLE t", "DROP TABLE"},
	} {
		if got := mustExec(t, c, tc.sql).String(); got != tc.tag {
			t.Errorf("%s: tag %q, want %q", tc.sql, got, tc.tag)
		}
	}
}

// TestCopyBinary: pgx's CopyFrom (COPY … FROM STDIN BINARY) loads typed
// rows exactly; float4[] arrays and '[…]' texts both fill a vector; a bad
// row loads nothing and names the row and column; TO STDOUT refuses the
// binary format.
func TestCopyBinary(t *testing.T) {
	ts := startServer(t, server.Config{})
	c := connect(t, ts)
	ctx := context.Background()
	mustExec(t, c, "CREATE TABLE b (id INT, key VECTOR(3), name TEXT, w FLOAT)")
	rows := [][]any{
		{int64(1), "[0.1,-2.5,3e-38]", "a,b \"q\"", 0.1},
		{int64(-9007199254740993), "[1,2,3]", nil, nil},
		{nil, "[1e30,-0,7]", "", 1e300},
	}
	n, err := c.CopyFrom(ctx, pgx.Identifier{"b"}, []string{"id", "key", "name", "w"}, pgx.CopyFromRows(rows))
	if err != nil || n != 3 {
		t.Fatalf("CopyFrom: %d, %v", n, err)
	}
	got, err := c.Query(ctx, "SELECT id, key, name, w FROM b ORDER BY rowid")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for got.Next() {
		var id *int64
		var key string
		var name *string
		var w *float64
		if err := got.Scan(&id, &key, &name, &w); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, fmt.Sprint(deref(id), " ", key, " ", deref(name), " ", deref(w)))
	}
	want := []string{
		"1 [0.1,-2.5,3e-38] a,b \"q\" 0.1",
		"-9007199254740993 [1,2,3] <nil> <nil>",
		"<nil> [1e+30,-0,7]  1e+300",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("rows after CopyFrom:\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}

	// A float4[] array in binary, written by hand in PostgreSQL's format.
	arr := func(xs ...float32) []byte {
		b := binary.BigEndian.AppendUint32(nil, 1) // dimensions
		b = binary.BigEndian.AppendUint32(b, 0)    // no NULLs
		b = binary.BigEndian.AppendUint32(b, 700)  // float4
		b = binary.BigEndian.AppendUint32(b, uint32(len(xs)))
		b = binary.BigEndian.AppendUint32(b, 1) // lower bound
		for _, x := range xs {
			b = binary.BigEndian.AppendUint32(b, 4)
			b = binary.BigEndian.AppendUint32(b, math.Float32bits(x))
		}
		return b
	}
	copyData := func(fields ...[]byte) []byte {
		b := []byte("PGCOPY\n\xff\r\n\x00")
		b = binary.BigEndian.AppendUint32(b, 0)
		b = binary.BigEndian.AppendUint32(b, 0)
		b = binary.BigEndian.AppendUint16(b, uint16(len(fields)))
		for _, f := range fields {
			b = binary.BigEndian.AppendUint32(b, uint32(len(f)))
			b = append(b, f...)
		}
		return binary.BigEndian.AppendUint16(b, 0xffff)
	}
	id := binary.BigEndian.AppendUint64(nil, 4)
	tag, err := c.PgConn().CopyFrom(ctx, bytes.NewReader(copyData(id, arr(0.3, 1, -1))), "COPY b (id, key) FROM STDIN (FORMAT binary)")
	if err != nil || tag.RowsAffected() != 1 {
		t.Fatalf("COPY binary with a float4[]: %v %v", tag, err)
	}
	var key string
	if err := c.QueryRow(ctx, "SELECT key FROM b WHERE id = 4").Scan(&key); err != nil || key != "[0.3,1,-1]" {
		t.Errorf("float4[] vector: %q, %v", key, err)
	}

	// Bad rows load nothing and say where.
	for _, tc := range []struct {
		data []byte
		want string
	}{
		{copyData(id, arr(1, 2)), "dimension"},
		{copyData([]byte{0, 0, 7}, arr(1, 2, 3)), "row 1, column id: an integer of 3 bytes"},
		{copyData(id), "row 1: 1 fields, expected 2"},
		{copyData(id, arr(1, 2, 3))[:40], "row 1, column key: the data end"},
		{[]byte("id,key\n1,\"[1,2,3]\"\n"), "signature"},
	} {
		_, err := c.PgConn().CopyFrom(ctx, bytes.NewReader(tc.data), "COPY b (id, key) FROM STDIN BINARY")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("bad binary COPY: %v, want %q", err, tc.want)
		}
	}
	var count int64
	if err := c.QueryRow(ctx, "SELECT count(*) FROM b").Scan(&count); err != nil || count != 4 {
		t.Errorf("rows after failed binary COPYs: %d, %v", count, err)
	}
	if _, err := c.PgConn().CopyTo(ctx, io.Discard, "COPY b TO STDOUT (FORMAT binary)"); pgCode(err) != "0A000" {
		t.Errorf("COPY TO STDOUT binary: %v, want 0A000", err)
	}
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// TestCopyGenerated: COPY … TO STDOUT without a column list leaves the
// generated columns out, as in PostgreSQL, and COPY … FROM STDIN reads
// that back with the generated column computed again; a list may name
// the generated column for output, not for input.
func TestCopyGenerated(t *testing.T) {
	ts := startServer(t, server.Config{})
	c := connect(t, ts)
	ctx := context.Background()
	mustExec(t, c, "CREATE PROJECTION p (3 -> 2) INIT IDENTITY")
	mustExec(t, c, "CREATE TABLE g (x VECTOR(3), label INT, k VECTOR(2) GENERATED ALWAYS AS (project(x, p)) STORED)")
	mustExec(t, c, "INSERT INTO g (x, label) VALUES ([1,2,3], 1), ([4,5,6], 2)")
	var out strings.Builder
	if _, err := c.PgConn().CopyTo(ctx, &out, "COPY g TO STDOUT"); err != nil {
		t.Fatal(err)
	}
	if want := "[1,2,3]\t1\n[4,5,6]\t2\n"; out.String() != want {
		t.Errorf("COPY g TO STDOUT:\n%q\nwant\n%q", out.String(), want)
	}
	if tag, err := c.PgConn().CopyFrom(ctx, strings.NewReader(out.String()), "COPY g FROM STDIN"); err != nil || tag.RowsAffected() != 2 {
		t.Fatalf("COPY g FROM STDIN of its own output: %v %v", tag, err)
	}
	out.Reset()
	if _, err := c.PgConn().CopyTo(ctx, &out, "COPY g (label, k) TO STDOUT"); err != nil {
		t.Fatal(err)
	}
	if want := "1\t[1,2]\n2\t[4,5]\n1\t[1,2]\n2\t[4,5]\n"; out.String() != want {
		t.Errorf("COPY g (label, k) TO STDOUT:\n%q\nwant\n%q", out.String(), want)
	}
	if _, err := c.PgConn().CopyFrom(ctx, strings.NewReader("[1,1,1]\t[1,1]\n"), "COPY g (x, k) FROM STDIN"); err == nil || !strings.Contains(err.Error(), "generated") {
		t.Errorf("COPY into the generated column: %v, want an error naming it", err)
	}
}
