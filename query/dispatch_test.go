package query

import (
	"path/filepath"
	"reflect"
	"testing"
)

// TestDirectParsers: every statement of the golden files parses to the
// same AST (positions included), or fails with the same error, whether
// its first keyword's alternative is parsed on its own or the whole
// grammar is tried.
func TestDirectParsers(t *testing.T) {
	files, err := filepath.Glob("testdata/parse/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	direct := 0
	for _, path := range files {
		for _, c := range readGolden(t, path) {
			wholeGrammarOnly = true
			want, wantErr := Parse(c.input)
			wholeGrammarOnly = false
			got, gotErr := Parse(c.input)
			if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(gotErr, wantErr) {
				t.Errorf("%s:%d: %s\ndirect: %v %v\nwhole grammar: %v %v", path, c.line, c.input, got, gotErr, want, wantErr)
			}
			for _, st := range want {
				switch st.(type) {
				case *Select, *Insert, *Update, *Delete:
					direct++
				}
			}
		}
	}
	if direct < 50 {
		t.Fatalf("only %d statements took the direct parsers", direct)
	}
	t.Logf("%d statements compared", direct)
}

// TestShortStatementAllocs: a short statement costs its own alternative's
// parse, not the failed tries of the alternatives listed before it (SELECT
// 1 took 85 allocations when the whole grammar was tried, 46 directly).
func TestShortStatementAllocs(t *testing.T) {
	for _, c := range []struct {
		src  string
		most float64
	}{
		{"SELECT 1", 60},
		{"INSERT INTO t VALUES (?, ?)", 66},
		{"DELETE FROM t WHERE rowid = ?", 70},
	} {
		n := testing.AllocsPerRun(50, func() {
			if _, err := Parse(c.src); err != nil {
				t.Fatal(err)
			}
		})
		wholeGrammarOnly = true
		whole := testing.AllocsPerRun(50, func() { _, _ = Parse(c.src) })
		wholeGrammarOnly = false
		t.Logf("%s: %.0f allocations (%.0f through the whole grammar)", c.src, n, whole)
		if n > c.most {
			t.Errorf("%s: %.0f allocations, want ≤ %.0f", c.src, n, c.most)
		}
	}
}
