package server_test

import (
	"bytes"
	"encoding/binary"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/softdb/softdb/server"
)

var (
	fuzzOnce sync.Once
	fuzzTS   *testServer
)

// FuzzWire sends arbitrary bytes through a real socket, as the startup
// packet or, after a valid startup, as protocol messages. Whatever the
// bytes, the server answers or closes that connection (a short stall
// timeout ends incomplete messages), never panics, and then still serves
// a new client.
func FuzzWire(f *testing.F) {
	startup := func(user string) []byte {
		body := append([]byte{0, 3, 0, 0}, "user\x00"+user+"\x00\x00"...)
		return append(binary.BigEndian.AppendUint32(nil, uint32(len(body)+4)), body...)
	}
	msg := func(typ byte, body string) []byte {
		return append(binary.BigEndian.AppendUint32([]byte{typ}, uint32(len(body)+4)), body...)
	}
	f.Add(false, startup("u"))
	f.Add(false, []byte{0, 0, 0, 8, 4, 210, 22, 47})                          // SSLRequest
	f.Add(false, []byte{0, 0, 0, 16, 4, 210, 22, 46, 0, 0, 0, 1, 0, 0, 0, 2}) // CancelRequest
	f.Add(false, []byte{0x40, 0, 0, 0, 0, 3, 0, 0})
	f.Add(true, msg('Q', "SELECT 1\x00"))
	f.Add(true, msg('Q', "SELECT * FROM nope;\x00"))
	f.Add(true, append(msg('P', "s\x00SELECT $1\x00\x00\x00"), msg('S', "")...))
	f.Add(true, append(append(msg('P', "\x00SELECT $1\x00\x00\x01\x00\x00\x00\x14"), msg('B', "\x00\x00\x00\x01\x00\x01\x00\x01\x00\x00\x00\x08\x00\x00\x00\x00\x00\x00\x00\x2a\x00\x00")...), msg('S', "")...))
	f.Add(true, msg('B', "\x00nope\x00\xff\xff"))
	f.Add(true, []byte{'Q', 0x7f, 0xff, 0xff, 0xff})
	f.Add(true, msg('d', "1,2\n"))
	f.Add(true, msg('X', ""))
	f.Fuzz(func(t *testing.T, afterStartup bool, data []byte) {
		fuzzOnce.Do(func() {
			fuzzTS = startServer(&testing.T{}, server.Config{StallTimeout: 50 * time.Millisecond, MaxMessageBytes: 1 << 20})
		})
		ts := fuzzTS
		nc, err := net.DialTimeout("tcp", ts.addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		_ = nc.SetDeadline(time.Now().Add(3 * time.Second))
		if afterStartup {
			nc.Write(startup("fuzz"))
			if !readUntil(nc, 'Z') {
				t.Fatal("startup failed")
			}
		}
		nc.Write(data)
		// Drain until the server closes or goes quiet.
		_ = nc.SetReadDeadline(time.Now().Add(150 * time.Millisecond))
		buf := make([]byte, 4096)
		for {
			if _, err := nc.Read(buf); err != nil {
				break
			}
		}
		// The server still serves a new client.
		c2, err := net.DialTimeout("tcp", ts.addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c2.Close()
		_ = c2.SetDeadline(time.Now().Add(5 * time.Second))
		c2.Write(startup("check"))
		if !readUntil(c2, 'Z') {
			t.Fatal("a new client could not start after the input")
		}
		c2.Write(msg('Q', "SELECT 41 + 1\x00"))
		var got bytes.Buffer
		for {
			typ, body, ok := readMsg(c2)
			if !ok {
				t.Fatal("no answer to SELECT after the input")
			}
			if typ == 'D' {
				got.Write(body)
			}
			if typ == 'Z' {
				break
			}
		}
		if !bytes.HasSuffix(got.Bytes(), []byte("42")) {
			t.Fatalf("SELECT 41 + 1 answered %q", got.Bytes())
		}
	})
}

func readMsg(nc net.Conn) (byte, []byte, bool) {
	hdr := make([]byte, 5)
	if _, err := ioReadFull(nc, hdr); err != nil {
		return 0, nil, false
	}
	n := int(binary.BigEndian.Uint32(hdr[1:]))
	if n < 4 || n > 1<<24 {
		return 0, nil, false
	}
	body := make([]byte, n-4)
	if _, err := ioReadFull(nc, body); err != nil {
		return 0, nil, false
	}
	return hdr[0], body, true
}

func readUntil(nc net.Conn, typ byte) bool {
	for {
		t, _, ok := readMsg(nc)
		if !ok {
			return false
		}
		if t == typ {
			return true
		}
	}
}
