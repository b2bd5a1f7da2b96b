package server_test

import (
	"encoding/binary"
	"testing"

	"github.com/softdb/softdb/server"
)

// BenchmarkSimpleQuery is one round trip of `SELECT 1;` in the simple
// query protocol over a loopback socket: the server's per-statement cost.
func BenchmarkSimpleQuery(b *testing.B) {
	ts := startServer(b, server.Config{})
	nc := rawStartup(b, ts.addr)
	defer nc.Close()
	body := "SELECT 1;\x00"
	q := append(binary.BigEndian.AppendUint32([]byte{'Q'}, uint32(len(body)+4)), body...)
	b.ReportAllocs()
	for b.Loop() {
		nc.Write(q)
		if !readUntil(nc, 'Z') {
			b.Fatal("no answer")
		}
	}
}
