package server_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/softdb/softdb/server"
)

// wire is a raw protocol client, for what drivers cannot express.
type wire struct {
	t  testing.TB
	nc net.Conn
	fe *pgproto3.Frontend
}

func dialWire(t testing.TB, ts *testServer) *wire {
	t.Helper()
	nc := rawStartup(t, ts.addr)
	_ = nc.SetDeadline(time.Now().Add(30 * time.Second))
	t.Cleanup(func() { nc.Close() })
	return &wire{t: t, nc: nc, fe: pgproto3.NewFrontend(nc, nc)}
}

func (w *wire) send(msgs ...pgproto3.FrontendMessage) {
	w.t.Helper()
	for _, m := range msgs {
		w.fe.Send(m)
	}
	if err := w.fe.Flush(); err != nil {
		w.t.Fatalf("send: %v", err)
	}
}

// replies reads up to ReadyForQuery and sums the answers up, one string
// each: "E 23505", "C INSERT 0 1", "D 1|x|NULL", "Z I", "N 25P01" …
func (w *wire) replies() []string {
	w.t.Helper()
	var out []string
	for {
		m, err := w.fe.Receive()
		if err != nil {
			w.t.Fatalf("receive after %q: %v", out, err)
		}
		switch m := m.(type) {
		case *pgproto3.ErrorResponse:
			out = append(out, "E "+m.Code)
		case *pgproto3.NoticeResponse:
			out = append(out, "N "+m.Code)
		case *pgproto3.ParameterStatus:
			out = append(out, "S "+m.Name+"="+m.Value)
		case *pgproto3.CommandComplete:
			out = append(out, "C "+string(m.CommandTag))
		case *pgproto3.DataRow:
			vals := make([]string, len(m.Values))
			for i, v := range m.Values {
				if v == nil {
					vals[i] = "NULL"
				} else {
					vals[i] = fmt.Sprintf("%q", v)
				}
			}
			out = append(out, "D "+strings.Join(vals, "|"))
		case *pgproto3.ReadyForQuery:
			return append(out, "Z "+string(m.TxStatus))
		}
	}
}

// query sends one Query message and returns replies.
func (w *wire) query(sql string) []string {
	w.t.Helper()
	w.send(&pgproto3.Query{String: sql})
	return w.replies()
}

func has(replies []string, want string) bool {
	for _, r := range replies {
		if r == want {
			return true
		}
	}
	return false
}

func count(t testing.TB, c *pgx.Conn, table string) int64 {
	t.Helper()
	var n int64
	if err := c.QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

// TestImplicitTransaction: the statements of one Query message, and the
// extended-protocol messages up to Sync, outside BEGIN, are one
// transaction: a failure undoes the ones before it, as in PostgreSQL.
func TestImplicitTransaction(t *testing.T) {
	ts := startServer(t, server.Config{LockTimeout: 500 * time.Millisecond})
	c := connect(t, ts)
	mustExec(t, c, "CREATE TABLE t (id INT PRIMARY KEY, name TEXT)")
	w := dialWire(t, ts)

	// A later statement fails: the inserts before it are rolled back.
	r := w.query("INSERT INTO t VALUES (1, 'a'); INSERT INTO t VALUES (2, 'b'); SELECT nosuch FROM t")
	if !has(r, "C INSERT 0 1") || !has(r, "E 42703") || r[len(r)-1] != "Z I" {
		t.Errorf("replies %q", r)
	}
	if n := count(t, c, "t"); n != 0 {
		t.Errorf("%d rows after a failed multi-statement query, want 0", n)
	}
	r = w.query("INSERT INTO t VALUES (1, 'a'); INSERT INTO t VALUES (1, 'dup')")
	if !has(r, "E 23505") || count(t, c, "t") != 0 {
		t.Errorf("duplicate key: replies %q, %d rows", r, count(t, c, "t"))
	}
	// The write lock was released with the rollback.
	mustExec(t, c, "INSERT INTO t VALUES (9, 'other session')")
	mustExec(t, c, "DELETE FROM t")

	// All succeed: one commit, the later statements see the earlier ones.
	r = w.query("INSERT INTO t VALUES (1, 'a'); INSERT INTO t VALUES (2, 'b'); SELECT count(*) FROM t;")
	if !has(r, `D "2"`) || r[len(r)-1] != "Z I" {
		t.Errorf("replies %q", r)
	}
	if n := count(t, c, "t"); n != 2 {
		t.Errorf("%d rows, want 2", n)
	}

	// BEGIN inside the string makes the transaction explicit, the writes
	// before it included; it stays open after the string.
	r = w.query("INSERT INTO t VALUES (3, 'c'); BEGIN; INSERT INTO t VALUES (4, 'd')")
	if r[len(r)-1] != "Z T" {
		t.Errorf("after BEGIN in the string: %q, want status T", r)
	}
	if r := w.query("ROLLBACK"); r[len(r)-1] != "Z I" {
		t.Errorf("ROLLBACK: %q", r)
	}
	if n := count(t, c, "t"); n != 2 {
		t.Errorf("%d rows after ROLLBACK, want 2 (3 and 4 undone)", n)
	}
	// COMMIT inside the string commits what came before it (with
	// PostgreSQL's warning); what follows is a new transaction.
	r = w.query("INSERT INTO t VALUES (5, 'e'); COMMIT; INSERT INTO t VALUES (6, 'f'); INSERT INTO t VALUES (6, 'dup')")
	if !has(r, "N 25P01") || !has(r, "E 23505") {
		t.Errorf("replies %q", r)
	}
	if n := count(t, c, "t"); n != 3 {
		t.Errorf("%d rows, want 3 (5 committed, 6 undone)", n)
	}
	// Inside an explicit transaction a failed statement aborts it, as in
	// PostgreSQL: other statements get 25P02 and COMMIT rolls back, so
	// nothing the client sent before the error is kept (docs/decisions.md).
	w.query("BEGIN")
	r = w.query("INSERT INTO t VALUES (7, 'g'); INSERT INTO t VALUES (7, 'dup')")
	if !has(r, "E 23505") || r[len(r)-1] != "Z E" {
		t.Errorf("replies %q", r)
	}
	if r := w.query("INSERT INTO t VALUES (8, 'h')"); !has(r, "E 25P02") || r[len(r)-1] != "Z E" {
		t.Errorf("a statement in the aborted transaction: %q", r)
	}
	if r := w.query("COMMIT"); !has(r, "C ROLLBACK") || r[len(r)-1] != "Z I" {
		t.Errorf("COMMIT of the aborted transaction: %q", r)
	}
	if n := count(t, c, "t"); n != 3 {
		t.Errorf("%d rows, want 3 (7 and 8 not kept)", n)
	}
	mustExec(t, c, "DELETE FROM t")

	// The extended protocol: Parse/Bind/Execute … Sync is one transaction.
	ext := func(ids ...string) []string {
		for _, id := range ids {
			w.fe.Send(&pgproto3.Parse{Query: "INSERT INTO t VALUES ($1, 'x')"})
			w.fe.Send(&pgproto3.Bind{Parameters: [][]byte{[]byte(id)}})
			w.fe.Send(&pgproto3.Execute{})
		}
		w.send(&pgproto3.Sync{})
		return w.replies()
	}
	if r := ext("1", "2", "2"); !has(r, "E 23505") || r[len(r)-1] != "Z I" {
		t.Errorf("replies %q", r)
	}
	if n := count(t, c, "t"); n != 0 {
		t.Errorf("%d rows after a failed Sync group, want 0", n)
	}
	if r := ext("1", "2"); has(r, "E 23505") {
		t.Errorf("replies %q", r)
	}
	if n := count(t, c, "t"); n != 2 {
		t.Errorf("%d rows, want 2", n)
	}
	// A bad Parse after a write in the same group undoes the write too.
	w.fe.Send(&pgproto3.Parse{Query: "INSERT INTO t VALUES (3, 'x')"})
	w.fe.Send(&pgproto3.Bind{})
	w.fe.Send(&pgproto3.Execute{})
	w.fe.Send(&pgproto3.Parse{Query: "SELEC oops"})
	w.send(&pgproto3.Sync{})
	if r := w.replies(); !has(r, "E 42601") {
		t.Errorf("replies %q", r)
	}
	if n := count(t, c, "t"); n != 2 {
		t.Errorf("%d rows, want 2 (3 undone)", n)
	}

	// pgx's batch is one Sync group.
	b := &pgx.Batch{}
	b.Queue("INSERT INTO t VALUES ($1, 'x')", 10)
	b.Queue("INSERT INTO t VALUES ($1, 'x')", 1)
	if err := c.SendBatch(context.Background(), b).Close(); pgCode(err) != "23505" {
		t.Errorf("batch: %v", err)
	}
	if n := count(t, c, "t"); n != 2 {
		t.Errorf("%d rows after a failed batch, want 2", n)
	}
}

// TestRollbackSchema: BEGIN … ROLLBACK undoes CREATE INDEX, DROP INDEX,
// CREATE PROJECTION and TRAIN as it undoes rows: each runs in the
// session's transaction, which BEGIN opens before the statement.
func TestRollbackSchema(t *testing.T) {
	ts := startServer(t, server.Config{})
	c := connect(t, ts)
	ctx := context.Background()
	mustExec(t, c, "CREATE TABLE t (k VECTOR(4), l INT)")
	mustExec(t, c, "INSERT INTO t VALUES ([1, 0, 0, 0], 1), ([0, 1, 0, 0], 1), ([0, 0, 1, 0], 2), ([0, 0, 0, 1], 2)")
	mustExec(t, c, "CREATE PROJECTION p (4 -> 2) INIT IDENTITY")
	mustExec(t, c, "CREATE INDEX j ON t (k) WITH (lists = 1)")
	names := func(sql string) string {
		t.Helper()
		rows, err := c.Query(ctx, sql)
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			out = append(out, string(rows.RawValues()[0]))
		}
		return fmt.Sprintf("%s", out)
	}
	projected := func() string {
		t.Helper()
		var v string
		if err := c.QueryRow(ctx, "SELECT project([0, 0, 1, 1], p)").Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	indexes, projections, before := names("SHOW INDEXES"), names("SHOW PROJECTIONS"), projected()
	for _, sql := range []string{
		"CREATE INDEX i ON t (k) WITH (lists = 1)",
		"DROP INDEX j",
		"CREATE PROJECTION q (4 -> 4) INIT IDENTITY",
		"DROP PROJECTION p",
		"TRAIN PROJECTION p ON t (k) LABEL l ITERATIONS 3",
	} {
		tx, err := c.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		if err := tx.Rollback(ctx); err != nil {
			t.Fatal(err)
		}
		if got := names("SHOW INDEXES"); got != indexes {
			t.Errorf("after BEGIN; %s; ROLLBACK: indexes %s, want %s", sql, got, indexes)
		}
		if got := names("SHOW PROJECTIONS"); got != projections {
			t.Errorf("after BEGIN; %s; ROLLBACK: projections %s, want %s", sql, got, projections)
		}
		if got := projected(); got != before {
			t.Errorf("after BEGIN; %s; ROLLBACK: p maps [0,0,1,1] to %s, want %s", sql, got, before)
		}
	}
	// Committed, TRAIN does change p: the check above could fail.
	mustExec(t, c, "TRAIN PROJECTION p ON t (k) LABEL l ITERATIONS 3")
	if projected() == before {
		t.Errorf("TRAIN left p unchanged")
	}
}

// TestInvalidUTF8: bytes that are not UTF-8 in a query string, a text
// parameter or COPY data get 22021 (character_not_in_repertoire), and
// the connection goes on.
func TestInvalidUTF8(t *testing.T) {
	ts := startServer(t, server.Config{})
	c := connect(t, ts)
	mustExec(t, c, "CREATE TABLE t (id INT, name TEXT)")
	w := dialWire(t, ts)
	alive := func(what string) {
		t.Helper()
		if r := w.query("SELECT 41 + 1"); !has(r, `D "42"`) || r[len(r)-1] != "Z I" {
			t.Fatalf("after %s: %q", what, r)
		}
	}
	for _, sql := range []string{
		"SELECT 'a\xffb'",
		"INSERT INTO t VALUES (1, 'caf\xc3')",
		"SELECT 1; SELECT '\xed\xa0\x80'", // an encoded surrogate
		"SET application_name = '\xfe'",
		"SHOW \xff",
		"-- \xff\nSELECT 1",
	} {
		if r := w.query(sql); !has(r, "E 22021") {
			t.Errorf("%q: %q, want 22021", sql, r)
		}
		alive(fmt.Sprintf("%q", sql))
	}
	// Parse with such bytes.
	w.fe.Send(&pgproto3.Parse{Query: "SELECT '\xff'"})
	w.send(&pgproto3.Sync{})
	if r := w.replies(); !has(r, "E 22021") {
		t.Errorf("Parse: %q", r)
	}
	alive("Parse")
	// A text parameter: untyped, declared text, in binary format, stored
	// into a TEXT column or only selected.
	for _, tc := range []struct {
		sql    string
		oid    uint32
		format int16
	}{
		{"INSERT INTO t VALUES (2, $1)", 0, 0},
		{"INSERT INTO t VALUES (2, $1)", 25, 0},
		{"INSERT INTO t VALUES (2, $1)", 25, 1},
		{"SELECT $1", 0, 0},
		{"SELECT count(*) FROM t WHERE name = $1", 1043, 0},
	} {
		for _, bad := range []string{"x\x80y", "x\x00y"} {
			w.fe.Send(&pgproto3.Parse{Query: tc.sql, ParameterOIDs: []uint32{tc.oid}})
			w.fe.Send(&pgproto3.Bind{ParameterFormatCodes: []int16{tc.format}, Parameters: [][]byte{[]byte(bad)}})
			w.fe.Send(&pgproto3.Execute{})
			w.send(&pgproto3.Sync{})
			if r := w.replies(); !has(r, "E 22021") {
				t.Errorf("%s with a parameter %q of type %d, format %d: %q, want 22021", tc.sql, bad, tc.oid, tc.format, r)
			}
			alive(tc.sql)
		}
	}
	// COPY FROM STDIN data.
	w.send(&pgproto3.Query{String: "COPY t FROM STDIN"})
	w.send(&pgproto3.CopyData{Data: []byte("3\tok\n4\tbad\xff\n")}, &pgproto3.CopyDone{})
	if r := w.replies(); !has(r, "E 22021") {
		t.Errorf("COPY: %q, want 22021", r)
	}
	alive("COPY")
	if n := count(t, c, "t"); n != 0 {
		t.Errorf("%d rows stored, want 0", n)
	}
	// A startup parameter: the connection is refused.
	nc, err := net.DialTimeout("tcp", ts.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	sm := &pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30, Parameters: map[string]string{"user": "u", "application_name": "\xff"}}
	buf, _ := sm.Encode(nil)
	nc.Write(buf)
	if code := readErrorCode(t, nc); code != "22021" {
		t.Errorf("startup: %s, want 22021", code)
	}
}

// TestEmptyIsNotNull: a text parameter of length 0 is the empty string,
// of length -1 NULL, and results keep them apart, in text and binary.
func TestEmptyIsNotNull(t *testing.T) {
	ts := startServer(t, server.Config{})
	c := connect(t, ts)
	mustExec(t, c, "CREATE TABLE t (id INT, name TEXT)")
	w := dialWire(t, ts)
	for i, tc := range []struct {
		oid    uint32
		format int16
		val    []byte
	}{
		{0, 0, []byte{}}, {25, 0, []byte{}}, {25, 1, []byte{}}, {1043, 0, []byte{}},
		{0, 0, nil}, {25, 1, nil},
	} {
		w.fe.Send(&pgproto3.Parse{Query: "INSERT INTO t VALUES ($1, $2)", ParameterOIDs: []uint32{20, tc.oid}})
		w.fe.Send(&pgproto3.Bind{ParameterFormatCodes: []int16{0, tc.format}, Parameters: [][]byte{[]byte(fmt.Sprint(i)), tc.val}})
		w.fe.Send(&pgproto3.Execute{})
		w.send(&pgproto3.Sync{})
		if r := w.replies(); !has(r, "C INSERT 0 1") {
			t.Fatalf("insert %d: %q", i, r)
		}
	}
	var empty, null int64
	if err := c.QueryRow(context.Background(), "SELECT count(*) FROM t WHERE name = ''").Scan(&empty); err != nil {
		t.Fatal(err)
	}
	if err := c.QueryRow(context.Background(), "SELECT count(*) FROM t WHERE name IS NULL").Scan(&null); err != nil {
		t.Fatal(err)
	}
	if empty != 4 || null != 2 {
		t.Errorf("%d empty and %d NULL, want 4 and 2", empty, null)
	}
	// Results: the first row's values are all empty, then NULL, in the
	// simple protocol and in the extended one, text and binary.
	want := []string{`D ""|""`, "D NULL|NULL", `D ""|NULL`}
	got := w.query("SELECT '' AS a, '' AS b; SELECT NULL AS a, NULL AS b; SELECT '' AS a, NULL AS b")
	for _, d := range want {
		if !has(got, d) {
			t.Errorf("simple: %q lacks %s", got, d)
		}
	}
	for _, format := range []int16{0, 1} {
		for i, q := range []string{"SELECT name, name FROM t WHERE id = 0", "SELECT name, name FROM t WHERE id = 4", "SELECT name, NULL FROM t WHERE id = 1"} {
			w.fe.Send(&pgproto3.Parse{Query: q})
			w.fe.Send(&pgproto3.Bind{ResultFormatCodes: []int16{format}})
			w.fe.Send(&pgproto3.Execute{})
			w.send(&pgproto3.Sync{})
			if r := w.replies(); !has(r, want[i]) {
				t.Errorf("%s (format %d): %q, want %s", q, format, r, want[i])
			}
		}
	}
	// pgx reads them apart.
	var a, b *string
	if err := c.QueryRow(context.Background(), "SELECT name FROM t WHERE id = 0").Scan(&a); err != nil {
		t.Fatal(err)
	}
	if err := c.QueryRow(context.Background(), "SELECT name FROM t WHERE id = 4").Scan(&b); err != nil {
		t.Fatal(err)
	}
	if a == nil || *a != "" || b != nil {
		t.Errorf("pgx read %v, %v; want '' and NULL", a, b)
	}
}

// longStatement scores every row of big against every row: seconds.
const longStatement = "SOFT SELECT count(*) FROM big MATCH (SELECT key FROM big)"

// TestStatementTimeout: statement_timeout, set with SET or in the
// startup packet's options (PGOPTIONS), ends a long statement with 57014
// and the session goes on; a CancelRequest sent on a second connection
// does the same.
func TestStatementTimeout(t *testing.T) {
	ts := startServer(t, server.Config{})
	c := connect(t, ts)
	ctx := context.Background()
	loadRandom(t, c, "big", 20000, 32)
	expectCancel := func(c *pgx.Conn, msg string) {
		t.Helper()
		start := time.Now()
		_, err := c.Exec(ctx, longStatement)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "57014" || pe.Message != msg {
			t.Errorf("long statement: %v, want 57014 %q", err, msg)
			return
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("the statement ran %v", d)
		}
		if n := count(t, c, "big"); n != 20000 {
			t.Errorf("after the timeout: %d rows", n)
		}
	}
	const timedOut = "canceling statement due to statement timeout"
	mustExec(t, c, "SET statement_timeout = '100ms'")
	var v string
	if err := c.QueryRow(ctx, "SHOW statement_timeout").Scan(&v); err != nil || v != "100ms" {
		t.Errorf("SHOW statement_timeout = %q, %v", v, err)
	}
	expectCancel(c, timedOut)
	mustExec(t, c, "SET statement_timeout TO 0")
	if _, err := c.Exec(ctx, "SET statement_timeout = 'soon'"); pgCode(err) != "22023" {
		t.Errorf("SET statement_timeout = 'soon': %v, want 22023", err)
	}
	// Off again: a statement of a few hundred ms finishes.
	if _, err := c.Exec(ctx, "SOFT SELECT count(*) FROM big MATCH (SELECT key FROM big LIMIT 5)"); err != nil {
		t.Errorf("without a timeout: %v", err)
	}

	// In the startup packet: options (PGOPTIONS) or a parameter of its own.
	for _, params := range []map[string]string{
		{"options": "-c statement_timeout=100ms"},
		{"options": "-cstatement_timeout=100 --application-name=x\\ y"},
		{"options": "--statement_timeout=0.1s"},
		{"statement_timeout": "100"},
	} {
		cfg, err := pgx.ParseConfig(ts.dsn(""))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range params {
			cfg.RuntimeParams[k] = v
		}
		c2, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			t.Fatalf("%v: %v", params, err)
		}
		expectCancel(c2, timedOut)
		c2.Close(ctx)
	}
	for _, opts := range []string{"-c statement_timeout=soon", "-e", "-c statement_timeout"} {
		cfg, _ := pgx.ParseConfig(ts.dsn(""))
		cfg.RuntimeParams["options"] = opts
		if _, err := pgx.ConnectConfig(ctx, cfg); err == nil || !strings.Contains(err.Error(), "SQLSTATE") {
			t.Errorf("options %q: %v, want an error", opts, err)
		}
	}

	// A CancelRequest on a second connection, by hand.
	done := make(chan struct{})
	go func() {
		defer close(done)
		expectCancel(c, "canceling statement due to user request")
	}()
	time.Sleep(300 * time.Millisecond)
	nc, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	buf, _ := (&pgproto3.CancelRequest{ProcessID: c.PgConn().PID(), SecretKey: c.PgConn().SecretKey()}).Encode(nil)
	nc.Write(buf)
	nc.Close()
	<-done
}

// TestUnsupportedStatements: cursors get 0A000; a replication connection
// is refused; DEALLOCATE and DISCARD ALL act on the session; SAVEPOINT,
// RELEASE and ROLLBACK TO are refused with 0A000 inside a transaction
// and abort it, so that COMMIT cannot keep what the client meant to undo.
func TestUnsupportedStatements(t *testing.T) {
	ts := startServer(t, server.Config{})
	c := connect(t, ts)
	mustExec(t, c, "CREATE TABLE t (id INT)")
	w := dialWire(t, ts)
	for _, sql := range []string{
		"DECLARE cur NO SCROLL CURSOR FOR SELECT 1",
		"FETCH FORWARD 10 FROM cur",
		"MOVE NEXT IN cur",
	} {
		if r := w.query(sql); !has(r, "E 0A000") || r[len(r)-1] != "Z I" {
			t.Errorf("%s: %q, want 0A000", sql, r)
		}
	}
	if r := w.query("CLOSE cur"); !has(r, "E 34000") {
		t.Errorf("CLOSE cur: %q, want 34000", r)
	}
	if r := w.query("CLOSE ALL"); !has(r, "C CLOSE CURSOR ALL") {
		t.Errorf("CLOSE ALL: %q", r)
	}
	// psql's FETCH_COUNT: the DECLARE fails in BEGIN; the session goes on.
	if r := w.query("BEGIN; DECLARE _psql_cursor NO SCROLL CURSOR FOR SELECT 1"); !has(r, "E 0A000") {
		t.Errorf("DECLARE in BEGIN: %q", r)
	}
	w.query("ROLLBACK")

	// Replication connections.
	for _, v := range []string{"database", "true"} {
		cfg, _ := pgx.ParseConfig(ts.dsn(""))
		cfg.RuntimeParams["replication"] = v
		if _, err := pgx.ConnectConfig(context.Background(), cfg); pgCode(err) != "0A000" {
			t.Errorf("replication=%s: %v, want 0A000", v, err)
		}
	}
	cfg, _ := pgx.ParseConfig(ts.dsn(""))
	cfg.RuntimeParams["replication"] = "false"
	if c2, err := pgx.ConnectConfig(context.Background(), cfg); err != nil {
		t.Errorf("replication=false: %v", err)
	} else {
		c2.Close(context.Background())
	}

	// DEALLOCATE name / ALL, DISCARD ALL.
	prepare := func(name string) {
		w.fe.Send(&pgproto3.Parse{Name: name, Query: "SELECT 1"})
		w.send(&pgproto3.Sync{})
		if r := w.replies(); has(r, "E 42P05") {
			t.Fatalf("Parse %s: %q", name, r)
		}
	}
	exists := func(name string) bool {
		w.fe.Send(&pgproto3.Describe{ObjectType: 'S', Name: name})
		w.send(&pgproto3.Sync{})
		return !has(w.replies(), "E 26000")
	}
	prepare("s1")
	prepare("s2")
	if r := w.query("DEALLOCATE s1"); !has(r, "C DEALLOCATE") || exists("s1") || !exists("s2") {
		t.Errorf("DEALLOCATE s1: %q; s1 %v, s2 %v", r, exists("s1"), exists("s2"))
	}
	if r := w.query("DEALLOCATE s1"); !has(r, "E 26000") {
		t.Errorf("DEALLOCATE s1 again: %q, want 26000", r)
	}
	prepare("s1")
	if r := w.query("DEALLOCATE ALL"); !has(r, "C DEALLOCATE ALL") || exists("s1") || exists("s2") {
		t.Errorf("DEALLOCATE ALL: %q", r)
	}
	prepare("s1")
	w.query("SET statement_timeout = 1234; SET application_name = 'before'")
	if r := w.query("BEGIN; DISCARD ALL"); !has(r, "E 25001") {
		t.Errorf("DISCARD ALL in BEGIN: %q, want 25001", r)
	}
	w.query("ROLLBACK")
	// application_name is reported (ParameterStatus) when it changes back.
	if r := w.query("DISCARD ALL"); !has(r, "C DISCARD ALL") || !has(r, "S application_name=") || exists("s1") {
		t.Errorf("DISCARD ALL: %q, s1 %v", r, exists("s1"))
	}
	w.query("SET application_name = 'again'")
	if r := w.query("RESET application_name"); !has(r, "C RESET") || !has(r, "S application_name=") {
		t.Errorf("RESET application_name: %q, want its ParameterStatus", r)
	}
	if r := w.query("SHOW statement_timeout"); !has(r, `D "0"`) {
		t.Errorf("after DISCARD ALL: %q", r)
	}
	if r := w.query("SHOW application_name"); !has(r, `D ""`) {
		t.Errorf("after DISCARD ALL: %q", r)
	}

	// Savepoints.
	for _, sp := range []string{"SAVEPOINT a", "RELEASE SAVEPOINT a", "ROLLBACK TO SAVEPOINT a", "ROLLBACK TO a"} {
		if r := w.query(sp); !has(r, "E 25P01") || r[len(r)-1] != "Z I" {
			t.Errorf("%s outside a transaction: %q, want 25P01", sp, r)
		}
		w.query("BEGIN; INSERT INTO t VALUES (1)")
		if r := w.query(sp); !has(r, "E 0A000") || r[len(r)-1] != "Z E" {
			t.Errorf("%s: %q, want 0A000 and status E", sp, r)
		}
		if r := w.query("INSERT INTO t VALUES (2)"); !has(r, "E 25P02") || r[len(r)-1] != "Z E" {
			t.Errorf("after %s: %q, want 25P02", sp, r)
		}
		if r := w.query("COMMIT"); !has(r, "C ROLLBACK") || r[len(r)-1] != "Z I" {
			t.Errorf("COMMIT of an aborted transaction: %q, want ROLLBACK", r)
		}
		if n := count(t, c, "t"); n != 0 {
			t.Fatalf("after %s and COMMIT: %d rows, want 0", sp, n)
		}
	}
	// ROLLBACK ends the aborted state too; a savepoint before any write
	// (BEGIN deferred) aborts as well.
	w.query("BEGIN; SAVEPOINT a")
	if r := w.query("ROLLBACK"); !has(r, "C ROLLBACK") || r[len(r)-1] != "Z I" {
		t.Errorf("ROLLBACK: %q", r)
	}
	if r := w.query("SELECT 1"); !has(r, `D "1"`) {
		t.Errorf("after ROLLBACK: %q", r)
	}
	// In the extended protocol: the aborted state holds across Syncs.
	w.query("BEGIN")
	for _, q := range []string{"SAVEPOINT b", "SELECT 1"} {
		w.fe.Send(&pgproto3.Parse{Query: q})
		w.fe.Send(&pgproto3.Bind{})
		w.fe.Send(&pgproto3.Execute{})
		w.send(&pgproto3.Sync{})
		if r := w.replies(); r[len(r)-1] != "Z E" {
			t.Errorf("%s: %q, want status E", q, r)
		}
	}
	w.query("ROLLBACK")
}

// TestLongQueryString: a Query string's cost is linear in its length,
// however it is made: two million empty statements after one took
// minutes when each statement looked again at everything after it (or
// counted lines from the start), and a line of a thousand statements
// answers a thousand times.
func TestLongQueryString(t *testing.T) {
	ts := startServer(t, server.Config{})
	c := connect(t, ts)
	// A bound on a hang, not a speed claim: linear work takes well under
	// a second here, quadratic work hours.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := c.PgConn().Exec(ctx, "SELECT 1"+strings.Repeat(";", 2_000_000)).ReadAll()
	if err != nil || len(res) != 1 {
		t.Fatalf("SELECT 1 and two million semicolons: %d results, %v", len(res), err)
	}
	res, err = c.PgConn().Exec(ctx, strings.Repeat("SELECT 1;\n", 1000)).ReadAll()
	if err != nil || len(res) != 1000 {
		t.Fatalf("1,000 statements: %d results, %v", len(res), err)
	}
	// The position of an error far into the string is still exact.
	_, err = c.PgConn().Exec(ctx, strings.Repeat("SELECT 1;\n", 5000)+"SELECT nosuch;").ReadAll()
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Position != int32(5000*len("SELECT 1;\n")+len("SELECT n")) {
		t.Errorf("error after 5,000 lines: %v (position %v)", err, pe)
	}
}

// TestPipelineStreams: the answers to a long pipeline without Sync, and
// to a Query string of many statements, reach the client while it is
// still sending or the server still running, not all at the end; a
// client that stops reading loses its connection after the stall
// timeout, and the server goes on.
func TestPipelineStreams(t *testing.T) {
	ts := startServer(t, server.Config{StallTimeout: time.Second})
	w := dialWire(t, ts)
	w.fe.Send(&pgproto3.Parse{Name: "s", Query: "SELECT $1 + 1", ParameterOIDs: []uint32{20}})
	w.send(&pgproto3.Sync{})
	if r := w.replies(); len(r) != 1 {
		t.Fatalf("Parse: %q", r)
	}
	const n = 5000
	half, total := make(chan struct{}), make(chan int, 1)
	go func() {
		// Count the answers; half are due before Sync is sent.
		k := 0
		for {
			m, err := w.fe.Receive()
			if err != nil {
				break
			}
			switch m.(type) {
			case *pgproto3.CommandComplete:
				if k++; k == n/2 {
					close(half)
				}
			case *pgproto3.ReadyForQuery:
				total <- k
				return
			}
		}
		total <- -1
	}()
	for i := 0; i < n; i++ {
		w.fe.Send(&pgproto3.Bind{PreparedStatement: "s", Parameters: [][]byte{[]byte(fmt.Sprint(i))}})
		w.fe.Send(&pgproto3.Execute{})
		if i%100 == 99 {
			if err := w.fe.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	select {
	case <-half:
	case <-time.After(20 * time.Second):
		t.Fatal("no answers before Sync: the server holds them until Sync")
	}
	w.send(&pgproto3.Sync{})
	if k := <-total; k != n {
		t.Fatalf("%d answers, want %d", k, n)
	}

	// A Query string of many statements: the first answers arrive long
	// before the last.
	var q strings.Builder
	for i := 0; i < 20000; i++ {
		fmt.Fprintf(&q, "SELECT %d;", i)
	}
	start := time.Now()
	w.send(&pgproto3.Query{String: q.String()})
	var first time.Duration
	rows := 0
	for {
		m, err := w.fe.Receive()
		if err != nil {
			t.Fatal(err)
		}
		if first == 0 {
			first = time.Since(start)
		}
		if _, ok := m.(*pgproto3.DataRow); ok {
			rows++
		}
		if _, ok := m.(*pgproto3.ReadyForQuery); ok {
			break
		}
	}
	if total := time.Since(start); rows != 20000 || first > total/4 {
		t.Errorf("%d rows; first answer after %v of %v", rows, first, total)
	}

	// A client that sends a long pipeline and never reads.
	w2 := dialWire(t, ts)
	big := fmt.Sprintf("SELECT '%s'", strings.Repeat("x", 1<<16))
	w2.fe.Send(&pgproto3.Parse{Name: "big", Query: big})
	for i := 0; i < 400; i++ {
		w2.fe.Send(&pgproto3.Bind{PreparedStatement: "big"})
		w2.fe.Send(&pgproto3.Execute{})
	}
	w2.fe.Send(&pgproto3.Sync{})
	_ = w2.fe.Flush() // 26 MB of answers the client never reads
	deadline := time.Now().Add(10 * time.Second)
	for ts.srv.Sessions() > 1 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if s := ts.srv.Sessions(); s != 1 {
		t.Errorf("%d sessions: the stalled client still holds its own", s)
	}
	if r := w.query("SELECT 1"); !has(r, `D "1"`) {
		t.Errorf("the other session: %q", r)
	}
}

// failingReader yields some rows, then fails: pgx then sends CopyFail.
type failingReader struct{ data string }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.data == "" {
		return 0, errors.New("the client gave up")
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

// TestCopyFail: COPY FROM STDIN ended by CopyFail inserts nothing, with
// 57014, and the connection goes on; in a Query string with other
// statements their writes are rolled back too.
func TestCopyFail(t *testing.T) {
	ts := startServer(t, server.Config{})
	c := connect(t, ts)
	ctx := context.Background()
	mustExec(t, c, "CREATE TABLE t (id INT, name TEXT)")
	var rows strings.Builder
	for i := 0; i < 10000; i++ {
		fmt.Fprintf(&rows, "%d\trow %d\n", i, i)
	}
	_, err := c.PgConn().CopyFrom(ctx, &failingReader{data: rows.String()}, "COPY t FROM STDIN")
	if pgCode(err) != "57014" {
		t.Errorf("CopyFrom with a failing reader: %v, want 57014", err)
	}
	if n := count(t, c, "t"); n != 0 {
		t.Errorf("%d rows after CopyFail, want 0", n)
	}

	w := dialWire(t, ts)
	copyFail := func(sql string) []string {
		w.send(&pgproto3.Query{String: sql})
		for {
			m, err := w.fe.Receive()
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := m.(*pgproto3.CopyInResponse); ok {
				break
			}
			if _, ok := m.(*pgproto3.ReadyForQuery); ok {
				t.Fatalf("%s: no CopyInResponse", sql)
			}
		}
		w.send(&pgproto3.CopyData{Data: []byte("1\ta\n2\tb\n")}, &pgproto3.CopyFail{Message: "stop"},
			&pgproto3.CopyData{Data: []byte("3\tc\n")}) // late data is ignored
		return w.replies()
	}
	if r := copyFail("COPY t FROM STDIN"); !has(r, "E 57014") || r[len(r)-1] != "Z I" {
		t.Errorf("CopyFail: %q", r)
	}
	if r := w.query("SELECT count(*) FROM t"); !has(r, `D "0"`) {
		t.Errorf("after CopyFail: %q", r)
	}
	if r := copyFail("INSERT INTO t VALUES (9, 'before'); COPY t FROM STDIN; INSERT INTO t VALUES (10, 'after')"); !has(r, "E 57014") || r[len(r)-1] != "Z I" {
		t.Errorf("CopyFail in a string: %q", r)
	}
	if n := count(t, c, "t"); n != 0 {
		t.Errorf("%d rows after CopyFail in a string, want 0 (the INSERT before it undone)", n)
	}
	// Inside BEGIN the failed COPY aborts the transaction, as in
	// PostgreSQL: COMMIT rolls it back (docs/decisions.md).
	w.query("BEGIN; INSERT INTO t VALUES (1, 'not kept')")
	if r := copyFail("COPY t FROM STDIN"); !has(r, "E 57014") || r[len(r)-1] != "Z E" {
		t.Errorf("CopyFail in BEGIN: %q", r)
	}
	w.query("COMMIT")
	if n := count(t, c, "t"); n != 0 {
		t.Errorf("%d rows, want 0", n)
	}
	// The connection still copies.
	tag, err := c.PgConn().CopyFrom(ctx, strings.NewReader("2\tb\n"), "COPY t FROM STDIN")
	if err != nil || tag.RowsAffected() != 1 {
		t.Errorf("COPY after: %v %v", tag, err)
	}
}
