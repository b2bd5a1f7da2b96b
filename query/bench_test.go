package query

import (
	"fmt"
	"strings"
	"testing"
)

// insertRows is a multi-row INSERT of n rows of literals, the shape a bulk
// load sends: INSERT INTO t (id, score, name, key) VALUES (0, 'r0', 0.5, [..]), …
func insertRows(n int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO t (id, score, name, key) VALUES ")
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "(%d, %d.5, 'r', [%d])", i, i%100, i%10)
	}
	return b.String()
}

// sumTerms is SELECT 1 + 1 + … with n terms: a left-deep chain.
func sumTerms(n int) string {
	var b strings.Builder
	b.Grow(len("SELECT ") + 4*n)
	b.WriteString("SELECT 1")
	for i := 1; i < n; i++ {
		b.WriteString(" + 1")
	}
	return b.String()
}

func benchParse(b *testing.B, src string) {
	b.ReportAllocs()
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		if _, err := Parse(src); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseInsertRows(b *testing.B) {
	for _, n := range []struct {
		name string
		n    int
	}{{"1e3", 1e3}, {"1e4", 1e4}, {"4e4", 4e4}} {
		b.Run("rows="+n.name, func(b *testing.B) { benchParse(b, insertRows(n.n)) })
	}
}

func BenchmarkParseSum(b *testing.B) {
	for _, n := range []struct {
		name string
		n    int
	}{{"1e3", 1e3}, {"1e4", 1e4}, {"1e5", 1e5}} {
		b.Run("terms="+n.name, func(b *testing.B) { benchParse(b, sumTerms(n.n)) })
	}
}

// BenchmarkParseTooLong: a 100 MB statement is refused after reading about
// MaxStatementLen bytes of it, before any lexing.
func BenchmarkParseTooLong(b *testing.B) {
	src := sumTerms(25e6) // 100 MB
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(src); err == nil {
			b.Fatal("accepted")
		}
	}
}

// BenchmarkParseShort: the short statements that scripts and clients send
// one at a time, where the cost is the grammar's, not the text's.
func BenchmarkParseShort(b *testing.B) {
	for _, c := range []struct{ name, src string }{
		{"select", "SELECT 1"},
		{"insert", "INSERT INTO t VALUES (?, ?)"},
		{"update", "UPDATE t SET key = ? WHERE rowid = ?"},
		{"soft", "SOFT SELECT v FROM t MATCH [1, 2, 3] TOP 10"},
	} {
		b.Run(c.name, func(b *testing.B) { benchParse(b, c.src) })
	}
}
