package query

import (
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
	if allocs > 10 { // the error and its message
		t.Errorf("refusing an oversized statement took %v allocations", allocs)
	}
}
