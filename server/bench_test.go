package server_test

import (
	"context"
	"encoding/binary"
	"testing"

	"github.com/softdb/softdb/server"
)

// BenchmarkSimpleQuery is one round trip of `SELECT 1;` in the simple
// query protocol over a loopback socket: the server's per-statement cost.
func BenchmarkSimpleQuery(b *testing.B) {
	ts := startServer(b, server.Config{})
	simpleQueryLoop(b, ts, "SELECT 1;")
}

// simpleQueryLoop sends sql as one Query message per round and waits for
// ReadyForQuery, on a raw connection (no driver's costs).
func simpleQueryLoop(b *testing.B, ts *testServer, sql string) {
	nc := rawStartup(b, ts.addr)
	defer nc.Close()
	body := sql + "\x00"
	q := append(binary.BigEndian.AppendUint32([]byte{'Q'}, uint32(len(body)+4)), body...)
	b.ReportAllocs()
	for b.Loop() {
		nc.Write(q)
		if !readUntil(nc, 'Z') {
			b.Fatal("no answer")
		}
	}
}

// BenchmarkWrite is one committed INSERT per round trip: in the simple
// protocol, and in the extended protocol with a parameter (pgx's Exec:
// Parse/Bind/Execute/Sync, the statement cached).
func BenchmarkWrite(b *testing.B) {
	b.Run("simple", func(b *testing.B) {
		ts := startServer(b, server.Config{})
		c := connect(b, ts)
		mustExec(b, c, "CREATE TABLE t (id INT, name TEXT)")
		simpleQueryLoop(b, ts, "INSERT INTO t VALUES (1, 'x');")
	})
	b.Run("extended", func(b *testing.B) {
		ts := startServer(b, server.Config{})
		c := connect(b, ts)
		mustExec(b, c, "CREATE TABLE t (id INT, name TEXT)")
		ctx := context.Background()
		b.ReportAllocs()
		i := int64(0)
		for b.Loop() {
			i++
			if _, err := c.Exec(ctx, "INSERT INTO t VALUES ($1, 'x')", i); err != nil {
				b.Fatal(err)
			}
		}
	})
}
