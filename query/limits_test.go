package query

import (
	"errors"
	"math"
	"runtime"
	"strings"
	"testing"
)

func TestStatementLen(t *testing.T) {
	const max = MaxStatementLen
	pad := func(n int) string { return "SELECT '" + strings.Repeat("x", n-len("SELECT ''")) + "'" }
	for _, tc := range []struct {
		name, src string
		ok        bool
	}{
		{"at the limit", pad(max), true},
		{"one over", pad(max + 1), false},
		{"trailing comment and space do not count", pad(max) + " -- " + strings.Repeat("c", 100) + "\n  ;", true},
		{"leading comment does not count", "/* " + strings.Repeat("c", max) + " */ " + pad(max), true},
		{"second statement over", "SELECT 1; " + pad(max+1), false},
		{"many statements under", strings.Repeat(pad(1000)+";", 2*max/1000), true},
		{"unterminated string over", "SELECT '" + strings.Repeat("x", max), false},
		{"long name", "SELECT " + strings.Repeat("a", max), false},
		{"semicolon in a string", "SELECT ';" + strings.Repeat("x", max) + "'", false},
		{"semicolon in a comment", "SELECT 1 -- ;\n" + strings.Repeat("+ 1 ", max/4), false},
	} {
		_, err := Parse(tc.src)
		tooLong := err != nil && strings.Contains(err.Error(), "statement is too long")
		if tooLong == tc.ok || (tc.ok && err != nil) {
			t.Errorf("%s: %v", tc.name, err)
		}
		// CheckStatementLen agrees on the first statement.
		first := tc.src
		if i := StatementEnd(first); i >= 0 {
			first = first[:i]
		}
		if cerr := CheckStatementLen(first); (cerr != nil) != (tooLong && strings.HasPrefix(err.Error(), "1:1:")) {
			t.Errorf("%s: CheckStatementLen = %v, Parse = %v", tc.name, cerr, err)
		}
	}
	// The error points at the statement's first token.
	_, err := Parse("SELECT 1;\n  " + pad(max+1))
	if err == nil || !strings.HasPrefix(err.Error(), "2:3: statement is too long") {
		t.Errorf("position: %v", err)
	}
}

// TestStatementLenEarly: an oversized statement is refused after reading
// about MaxStatementLen bytes, whatever follows.
func TestStatementLenEarly(t *testing.T) {
	// Text past the limit that would fail to lex if it were read.
	src := "SELECT " + strings.Repeat("1 + ", MaxStatementLen/4) + "'unterminated \x00"
	if err := CheckStatementLen(src); err == nil || !strings.Contains(err.Error(), "too long") {
		t.Errorf("CheckStatementLen: %v", err)
	}
	allocs := testing.AllocsPerRun(3, func() {
		if _, err := Parse(src); err == nil || !strings.Contains(err.Error(), "too long") {
			t.Errorf("Parse: %v", err)
		}
	})
	// Lexing the text would allocate per token (tens of thousands here); the
	// refusal takes a handful: the error and its message, and a few more
	// under the race detector's bookkeeping.
	if allocs > 20 {
		t.Errorf("refusing an oversized statement took %v allocations", allocs)
	}
}

// TestDeepNestingEverywhere: nesting is bounded wherever it occurs,
// including inside the pieces handed to the expression parser whole (VALUES
// rows, runs such as "+ (((…").
func TestDeepNestingEverywhere(t *testing.T) {
	deep := strings.Repeat("(", 100000) + "1"
	for _, src := range []string{
		"INSERT INTO t VALUES (" + deep,
		"INSERT INTO t VALUES (1), (" + strings.Repeat("- ", 100000) + "1)",
		"SELECT 1 + " + deep,
		"SELECT a FROM t WHERE a IN " + deep,
		"SELECT a FROM t WHERE a = 1 AND " + strings.Repeat("NOT ", 100000) + "b",
		"SELECT f" + deep,
	} {
		_, err := Parse(src)
		if err == nil || !strings.Contains(err.Error(), "nested too deeply") {
			t.Errorf("%.40s…: %v", src, err)
		}
	}
}

// allocPerByte is the bytes allocated by Parse(src) over len(src).
func allocPerByte(t *testing.T, src string) float64 {
	t.Helper()
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	if _, err := Parse(src); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&m1)
	return float64(m1.TotalAlloc-m0.TotalAlloc) / float64(len(src))
}

// TestParseAllocLinear: parsing allocates a bounded number of bytes per
// byte of text, the same at two sizes, so a regression to quadratic work
// (or to participle seeing every token of a bulk INSERT) fails here. The
// bounds are counts, not timings: at most 20 bytes per byte of text for
// every shape. An AST node costs what it costs: the 1 + 1 + … chain
// needs 18.8 bytes per byte for its Binary and IntLit nodes, 48 and 24
// bytes a term cut from chunks (int32 positions and a one-byte operator;
// 26.5 with int positions and a string operator).
func TestParseAllocLinear(t *testing.T) {
	inList := func(n int) string {
		return "SELECT a FROM t WHERE a IN (0" + strings.Repeat(", 12345", n) + ")"
	}
	for _, tc := range []struct {
		name  string
		src   func(n int) string
		n     [2]int
		bound float64
	}{
		{"insert", insertRows, [2]int{4000, 40000}, 20},
		{"sum", sumTerms, [2]int{25000, 250000}, 20},
		{"in-list", inList, [2]int{14000, 140000}, 20},
	} {
		small, large := allocPerByte(t, tc.src(tc.n[0])), allocPerByte(t, tc.src(tc.n[1]))
		t.Logf("%s: %.1f and %.1f bytes allocated per byte", tc.name, small, large)
		if small > tc.bound || large > tc.bound {
			t.Errorf("%s: %.1f and %.1f bytes allocated per byte of text, want ≤ %.1f", tc.name, small, large, tc.bound)
		}
		if large > 1.25*small+1 {
			t.Errorf("%s: allocation per byte grows with size: %.1f → %.1f", tc.name, small, large)
		}
	}
}

// TestLongSyntaxError: past the size up to which a failed statement is
// parsed again token by token, an error inside a list handed over whole is
// still reported at its token.
func TestLongSyntaxError(t *testing.T) {
	items := strings.Repeat(", b + 1", 20000) // 140 KB
	for _, tc := range []struct{ src, want string }{
		{"SELECT a" + items + " c FROM t", `unexpected "c"`},
		{"SELECT a FROM t GROUP BY a" + items + " )", `unexpected ")"`},
		{"INSERT INTO t VALUES (1)" + strings.Repeat(", (1)", 30000) + " (2)", `unexpected "("`},
		{"SELECT a" + items + " = 1 = 2", `unexpected "="`},
	} {
		_, err := Parse(tc.src)
		wantPos := strings.LastIndex(tc.src, tc.want[len(`unexpected "`):len(tc.want)-1]) + 1
		if err == nil || !strings.Contains(err.Error(), tc.want) || int(err.(*Error).Pos.Col) != wantPos {
			t.Errorf("%.30s…: %v, want %s at column %d", tc.src, err, tc.want, wantPos)
		}
	}
}

// TestMakePos: positions past the int32 range (a script of over 2³¹
// lines, a line of over 2 GiB) are held at the largest int32, not wrapped
// to negative numbers.
func TestMakePos(t *testing.T) {
	if p := MakePos(1<<40, 1<<33, 7); p.Offset != math.MaxInt32 || p.Line != math.MaxInt32 || p.Col != 7 {
		t.Errorf("MakePos past int32: %+v", p)
	}
	if p := MakePos(12, 3, 4); p != (Pos{Offset: 12, Line: 3, Col: 4}) {
		t.Errorf("MakePos(12, 3, 4) = %+v", p)
	}
}

// TestBinOpNames: every operator the parser lowers reads back as written,
// and the zero BinOp is none of them.
func TestBinOpNames(t *testing.T) {
	for _, op := range []string{"OR", "AND", "||", "+", "-", "*", "/", "%", "=", "!=", "<", "<=", ">", ">="} {
		if got := binOpOf(op).String(); got != op {
			t.Errorf("%s reads back as %s", op, got)
		}
	}
	if binOpOf("<>") != OpNe || BinOp(0).String() != "?" {
		t.Errorf("<> is %v; the zero BinOp is %q", binOpOf("<>"), BinOp(0).String())
	}
}

// TestInvalidUTF8: a statement with bytes that are not UTF-8 is refused at
// the first of them, wherever it is (in a string, a name, a comment).
func TestInvalidUTF8(t *testing.T) {
	for _, c := range []struct {
		src  string
		line int32
		col  int32
	}{
		{"INSERT INTO t VALUES (1, 'ab\xffcd')", 1, 29},
		{"SELECT 1;\nSELECT 'é' AS \"a\xc3\"", 2, 18}, // columns count bytes
		{"SELECT 1 -- \x80 in a comment", 1, 13},
	} {
		_, err := Parse(c.src)
		var e *Error
		if !errors.As(err, &e) || !strings.Contains(e.Msg, "invalid UTF-8") || e.Pos.Line != c.line || e.Pos.Col != c.col {
			t.Errorf("%q: %v, want invalid UTF-8 at %d:%d", c.src, err, c.line, c.col)
		}
	}
	// The first error in the text wins: a syntax error before the bad byte.
	if _, err := Parse("SELEC 1;\nSELECT '\xff'"); err == nil || strings.Contains(err.Error(), "UTF-8") {
		t.Errorf("syntax error before invalid UTF-8: %v, want the syntax error", err)
	}
}
