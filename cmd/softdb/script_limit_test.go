package main

import (
	"context"
	"strings"
	"testing"

	"github.com/softdb/softdb/query"
)

// endless is a script of one statement that never ends: SELECT 1 + 1 + …
type endless struct{ read int }

func (e *endless) Read(p []byte) (int, error) {
	const unit = " + 1"
	n := 0
	if e.read == 0 {
		n = copy(p, "SELECT 1")
	}
	for n+len(unit) <= len(p) {
		n += copy(p[n:], unit)
	}
	e.read += n
	return n, nil
}

// TestScriptStatementTooLong: script mode refuses a statement longer than
// query.MaxStatementLen after reading little more than that, rather than
// buffering it whole.
func TestScriptStatementTooLong(t *testing.T) {
	ts := newTestShell(t, false)
	in := &endless{}
	err := ts.RunScript(context.Background(), strings.NewReader("SELECT 1;\n\n"+strings.Repeat("1 + ", query.MaxStatementLen/4)+"1 + 1;"))
	if err == nil || !strings.Contains(err.Error(), "line 3:1: statement is too long") {
		t.Errorf("long statement: %v", err)
	}
	err = ts.RunScript(context.Background(), in)
	if err == nil || !strings.Contains(err.Error(), "statement is too long") {
		t.Errorf("endless statement: %v", err)
	}
	if in.read > query.MaxStatementLen+1<<17 {
		t.Errorf("read %d bytes of an endless statement", in.read)
	}
}

// TestPromptStatementTooLong: a statement typed or pasted at the prompt is
// refused once it passes query.MaxStatementLen, instead of being held
// whole, and the prompt goes on with an empty statement.
func TestPromptStatementTooLong(t *testing.T) {
	ts := newTestShell(t, true)
	line := "SELECT 1" + strings.Repeat(" + 1", 1<<14)
	var errs string
	for i := 0; errs == "" && i*len(line) <= query.MaxStatementLen+len(line); i++ {
		_, errs = ts.feed(t, line+"\n")
	}
	if !strings.Contains(errs, "statement is too long") {
		t.Fatalf("after %d bytes typed: %q, want the length error", query.MaxStatementLen+len(line), errs)
	}
	if ts.Pending() {
		t.Error("the overlong statement is still pending")
	}
	if out, errs := ts.feed(t, "SELECT 7 AS x;\n"); !strings.Contains(out, "7") || errs != "" {
		t.Errorf("next statement: %q %q", out, errs)
	}
}
