package query

import (
	"errors"
	"reflect"
	"testing"
)

// FuzzParse: Parse never panics and returns only *Error; whatever parses
// formats to text that parses to the same canonical form.
// Run with: go test ./query -run '^$' -fuzz FuzzParse -fuzztime 1m
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		benchSoftSelect,
		"SELECT 1",
		"CREATE TABLE t (id INT PRIMARY KEY, key VECTOR(3) NOT NULL)",
		"INSERT INTO t VALUES (1, [1, -2.5, 3e-2]), (?, $2)",
		"HARD SELECT * FROM t MATCH (SELECT key FROM t) USING L2 LIMIT 2",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		stmts, err := Parse(src)
		if err != nil {
			var qe *Error
			if !errors.As(err, &qe) {
				t.Fatalf("error %v is %T, not *Error", err, err)
			}
			if qe.Pos.Line < 1 || qe.Pos.Col < 1 {
				t.Fatalf("error without position: %v", err)
			}
			return
		}
		text := formatAll(stmts)
		again, err := Parse(joinStatements(stmts))
		if err != nil {
			t.Fatalf("Parse(Format(%q)) = %v\nformatted: %s", src, err, text)
		}
		if len(again) != len(stmts) {
			t.Fatalf("statement count changed: %d → %d", len(stmts), len(again))
		}
		for i := range stmts {
			if a, b := stripPos(stmts[i]), stripPos(again[i]); !reflect.DeepEqual(a, b) {
				t.Fatalf("round trip changed the AST of %q:\nbefore: %s\nafter:  %s", src, dump(a), dump(b))
			}
		}
		if got := formatAll(again); got != text {
			t.Fatalf("Format not stable for %q:\nfirst:  %s\nsecond: %s", src, text, got)
		}
	})
}

func joinStatements(stmts []Statement) string {
	s := ""
	for _, st := range stmts {
		s += Format(st) + ";\n"
	}
	return s
}
