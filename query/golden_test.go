package query

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestGolden runs testdata/parse/*.txt. Commands:
//
//	parse  the canonical Format of each statement, one per line, or "error: …"
//	ast    the AST with positions
//
// Every successful case is also checked to round-trip through Format.
// Regenerate with: go test ./query -run TestGolden -rewrite
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/parse/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			cases := readGolden(t, path)
			for i := range cases {
				c := &cases[i]
				got := runGolden(t, path, c)
				if *rewrite {
					c.output = got
					continue
				}
				if got != c.output {
					t.Errorf("%s:%d: %s\n%s\ngot:\n%s\nwant:\n%s", path, c.line, c.cmd, c.input, got, c.output)
				}
			}
			if *rewrite {
				writeGolden(t, path, cases)
			}
		})
	}
}

func runGolden(t *testing.T, path string, c *goldenCase) string {
	stmts, err := Parse(c.input)
	if err != nil {
		if _, ok := err.(*Error); !ok {
			t.Errorf("%s:%d: error is %T, not *Error", path, c.line, err)
		}
		return "error: " + err.Error()
	}
	checkPositions(t, c.input, stmts)
	checkRoundTrip(t, c.input)
	switch c.cmd {
	case "parse":
		return formatAll(stmts)
	case "ast":
		out := make([]string, len(stmts))
		for i, s := range stmts {
			out[i] = dump(s)
		}
		return strings.Join(out, "\n")
	}
	t.Fatalf("%s:%d: unknown command %q", path, c.line, c.cmd)
	return ""
}

// checkRoundTrip asserts Parse(Format(s)) == s (positions aside) and that
// formatting is a fixed point.
func checkRoundTrip(t *testing.T, src string) {
	t.Helper()
	stmts, err := Parse(src)
	if err != nil {
		t.Errorf("Parse(%q): %v", src, err)
		return
	}
	text := formatAll(stmts)
	again, err := Parse(strings.ReplaceAll(text, "\n", ";\n"))
	if err != nil {
		t.Errorf("reparse of Format output failed: %v\ninput: %s\nformatted: %s", err, src, text)
		return
	}
	if got := formatAll(again); got != text {
		t.Errorf("Format not stable:\nfirst:  %s\nsecond: %s", text, got)
	}
	for i := range stmts {
		a, b := stripPos(stmts[i]), stripPos(again[i])
		if !reflect.DeepEqual(a, b) {
			t.Errorf("round trip changed the AST\ninput: %s\nbefore: %s\nafter:  %s", src, dump(a), dump(b))
		}
	}
}

// checkPositions asserts every node has a position consistent with the
// source: Line and Col agree with Offset.
func checkPositions(t *testing.T, src string, stmts []Statement) {
	t.Helper()
	for _, s := range stmts {
		Walk(s, func(n Node) bool {
			p := n.Position()
			if p.Line < 1 || p.Col < 1 || p.Offset < 0 || int(p.Offset) > len(src) {
				t.Errorf("%T has no position (%+v) in %q", n, p, src)
				return true
			}
			off := int(p.Offset)
			line := 1 + strings.Count(src[:off], "\n")
			col := off - (strings.LastIndex(src[:off], "\n") + 1) + 1
			if line != int(p.Line) || col != int(p.Col) {
				t.Errorf("%T at %+v, but offset %d is %d:%d in %q", n, p, p.Offset, line, col, src)
			}
			return true
		})
	}
}

// TestGrammarEBNF keeps docs/grammar.ebnf equal to the parser's grammar.
func TestGrammarEBNF(t *testing.T) {
	const path = "../docs/grammar.ebnf"
	if *rewrite {
		if err := os.WriteFile(path, []byte(EBNF()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run: go test ./query -run TestGrammarEBNF -rewrite)", err)
	}
	if string(want) != EBNF() {
		t.Errorf("%s is stale; run: go test ./query -run TestGrammarEBNF -rewrite", path)
	}
}
