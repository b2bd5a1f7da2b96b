package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/softdb/softdb"
)

// testShell is the REPL core on an in-memory database, with results and
// notes in out and errors in errb, as the REPL has them on a terminal.
type testShell struct {
	*Shell
	out, errb *bytes.Buffer
}

func newTestShell(t *testing.T, screen bool) *testShell {
	t.Helper()
	db, err := softdb.Open(softdb.Memory, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	sh := NewShell(db, &out, &errb, "table")
	sh.Msg = &out
	sh.Screen = screen
	t.Cleanup(func() {
		sh.Close()
		db.Close()
	})
	return &testShell{sh, &out, &errb}
}

// feed types text at the prompt and returns what was printed and the
// errors, clearing both.
func (ts *testShell) feed(t *testing.T, text string) (out, errs string) {
	t.Helper()
	if !ts.Feed(context.Background(), text) {
		t.Fatalf("the shell ended on %q", text)
	}
	out, errs = ts.out.String(), ts.errb.String()
	ts.out.Reset()
	ts.errb.Reset()
	return out, errs
}

func (ts *testShell) mustFeed(t *testing.T, text string) string {
	t.Helper()
	out, errs := ts.feed(t, text)
	if errs != "" {
		t.Fatalf("%q: unexpected error %s", text, errs)
	}
	return out
}

func TestLineMultiLineStatements(t *testing.T) {
	sh := newTestShell(t, true)
	sh.mustFeed(t, "CREATE TABLE t (key VECTOR(2),")
	if !sh.Pending() || sh.prompt() != contPrompt {
		t.Fatalf("after half a statement: pending %v, prompt %q", sh.Pending(), sh.prompt())
	}
	sh.mustFeed(t, "  label TEXT);")
	if sh.Pending() || sh.prompt() != prompt {
		t.Fatalf("after the statement: pending %v, prompt %q", sh.Pending(), sh.prompt())
	}
	// Two statements and the start of a third on one line.
	out := sh.mustFeed(t, "INSERT INTO t VALUES ([1, 0], 'a'); SELECT label FROM t; SELECT")
	if !strings.Contains(out, " a\n") || !sh.Pending() {
		t.Errorf("output %q, pending %v", out, sh.Pending())
	}
	out = sh.mustFeed(t, "count(*) AS n FROM t;")
	if !strings.Contains(out, " 1\n") {
		t.Errorf("the statement finished on the next line printed %q", out)
	}
	// Comments alone leave nothing to continue.
	sh.mustFeed(t, "-- a comment\n/* another */")
	if sh.Pending() {
		t.Error("a comment line left the shell waiting for more")
	}
	// Ctrl-C at the prompt drops a partial statement.
	sh.mustFeed(t, "SELECT 1")
	sh.ClearPending()
	if out := sh.mustFeed(t, "SELECT 2 AS two;"); !strings.Contains(out, "two") {
		t.Errorf("after ClearPending: %q", out)
	}
	// An open transaction shows in the prompt.
	sh.mustFeed(t, "BEGIN;")
	if sh.prompt() != txPrompt {
		t.Errorf("prompt in a transaction = %q", sh.prompt())
	}
	sh.mustFeed(t, "ROLLBACK;")
}

func TestLineErrorsGoOn(t *testing.T) {
	sh := newTestShell(t, true)
	out, errs := sh.feed(t, "CREATE TABLE t (a INT);\nSELECT a,\n  nope FROM t;\nSELECT 7 AS seven;")
	want := "Error: column \"nope\" does not exist in table \"t\"\nLINE 2:   nope FROM t;\n          ^\n"
	if errs != want {
		t.Errorf("error:\n%s\nwant:\n%s", errs, want)
	}
	if !strings.Contains(out, "seven") {
		t.Errorf("the session did not go on after the error: %q", out)
	}
	_, errs = sh.feed(t, "SELEC 1;")
	if !strings.HasPrefix(errs, "Error: unexpected \"SELEC\"") || !strings.Contains(errs, "LINE 1: SELEC 1;\n        ^\n") {
		t.Errorf("syntax error:\n%s", errs)
	}
	// A statement cancelled (Ctrl-C) drops the rest of the line.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	sh.Line(ctx, "SELECT 1 AS one; SELECT 2 AS two;")
	if sh.out.Len() != 0 || sh.Pending() {
		t.Errorf("a cancelled line printed %q (pending %v)", sh.out, sh.Pending())
	}
}

func TestCancelledStatement(t *testing.T) {
	sh := newTestShell(t, false)
	sh.mustFeed(t, ".demo")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if sh.runStatement(ctx, "SOFT SELECT label, SUM(weight) FROM digits MATCH (SELECT key FROM digits) GROUP BY label;") {
		t.Error("runStatement reported a cancelled statement as done")
	}
	if errs := sh.errb.String(); errs != "Error: cancelled\n" {
		t.Errorf("stderr %q", errs)
	}
}

func TestTableOnScreen(t *testing.T) {
	sh := newTestShell(t, true)
	sh.mustFeed(t, `CREATE TABLE t (key VECTOR(64), label TEXT);
INSERT INTO t VALUES (NULL, 'a');`)
	// Vectors are shortened; the dimension follows.
	sh.mustFeed(t, "UPDATE t SET key = ["+strings.Repeat("0.125, ", 63)+"-1];")
	out := sh.mustFeed(t, "SELECT key, label, NULL AS n FROM t;")
	if !strings.Contains(out, "[0.125, 0.125, 0.125, 0.125, …] (64)") || strings.Contains(out, "-1]") {
		t.Errorf("vector not shortened:\n%s", out)
	}
	if !strings.Contains(out, " NULL") || strings.Contains(out, "\x1b[") {
		t.Errorf("NULL without colour:\n%s", out)
	}
	// A column named weight outside SOFT SELECT is no weight: no bar.
	if out := sh.mustFeed(t, "SELECT label, 0.5 AS weight FROM t;"); strings.Contains(out, "█") {
		t.Errorf("bar for a plain SELECT:\n%s", out)
	}
	sh.Color = true
	if out := sh.mustFeed(t, "SELECT NULL AS n;"); !strings.Contains(out, "\x1b[2mNULL\x1b[0m") {
		t.Errorf("NULL not dimmed:\n%q", out)
	}
}

func TestWeightBars(t *testing.T) {
	sh := newTestShell(t, true)
	sh.mustFeed(t, `CREATE TABLE memory (key VECTOR(2), value VECTOR(2), label TEXT);
INSERT INTO memory VALUES ([1, 0], [10, 0], 'east'), ([0, 1], [0, 10], 'north'), ([1, 1], [5, 5], 'north-east');`)
	out := sh.mustFeed(t, "SOFT SELECT label, weight FROM memory MATCH [0.9, 0.2] TEMPERATURE 0.5;")
	want := `   label    |       weight        | bar
------------+---------------------+-------------
 north-east |  0.5447753996869446 | ██████████▉
 east       |  0.3651738361715439 | ███████▎
 north      | 0.09005076414151163 | █▊
`
	if out != want {
		t.Errorf("row-form SOFT SELECT:\n%s\nwant:\n%s", out, want)
	}
	// Summed weights get bars too, beside their own column.
	out = sh.mustFeed(t, "SOFT SELECT SUM(weight) AS p, label FROM memory MATCH [0.9, 0.2] TEMPERATURE 0.5 GROUP BY label ORDER BY p DESC LIMIT 1;")
	if !strings.Contains(out, "0.5447753996869446 | ██████████▉ | north-east") {
		t.Errorf("grouped weights:\n%s", out)
	}
	// The blend form has no weights to draw; neither do other formats.
	if out := sh.mustFeed(t, "SOFT SELECT value FROM memory MATCH [0.9, 0.2] TEMPERATURE 0.5;"); strings.Contains(out, "█") {
		t.Errorf("bar in blend form:\n%s", out)
	}
	sh.mustFeed(t, ".mode csv")
	if out := sh.mustFeed(t, "SOFT SELECT label, weight FROM memory MATCH [0.9, 0.2] TEMPERATURE 0.5;"); strings.Contains(out, "█") {
		t.Errorf("bar in csv:\n%s", out)
	}
}

func TestLongResultsCut(t *testing.T) {
	sh := newTestShell(t, true)
	sh.mustFeed(t, "CREATE TABLE t (i INT);")
	var vals []string
	for i := 0; i < 1234; i++ {
		vals = append(vals, fmt.Sprintf("(%d)", i))
	}
	sh.mustFeed(t, "INSERT INTO t VALUES "+strings.Join(vals, ", ")+";")
	out := sh.mustFeed(t, "SELECT i FROM t ORDER BY i;")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 2+maxScreenRows+1 || lines[len(lines)-1] != "… 234 more rows (use LIMIT or .mode csv)" {
		t.Errorf("%d lines, last %q", len(lines), lines[len(lines)-1])
	}
	if out := sh.mustFeed(t, "SELECT i FROM t WHERE i < 0;"); !strings.HasSuffix(out, "(0 rows)\n") {
		t.Errorf("empty result:\n%s", out)
	}
	// Other formats, and files, get everything.
	sh.mustFeed(t, ".mode csv")
	if out := sh.mustFeed(t, "SELECT i FROM t;"); strings.Count(out, "\n") != 1235 {
		t.Errorf("csv: %d lines", strings.Count(out, "\n"))
	}
}

func TestScriptTablesLoseNothing(t *testing.T) {
	vec := "[" + strings.Repeat("0.5, ", 99) + "-0.25]"
	var ins []string
	for i := 0; i < 1500; i++ {
		ins = append(ins, fmt.Sprintf("(%d, %s)", i, vec))
	}
	script := "CREATE TABLE t (i INT, v VECTOR(100));\nINSERT INTO t VALUES " + strings.Join(ins, ", ") + ";\nSOFT SELECT i, weight FROM t MATCH " + vec + " LIMIT 2000;\n"
	out, errs, code := runCLI(t, script)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if strings.Contains(out, "…") || strings.Contains(out, "█") || strings.Count(out, "\n") != 2+1500 {
		t.Errorf("script output was shortened: %d lines, %q…", strings.Count(out, "\n"), out[:min(len(out), 200)])
	}
	out, _, _ = runCLI(t, script[:strings.Index(script, "SOFT")]+"SELECT v FROM t LIMIT 1;")
	if !strings.Contains(out, vec) {
		t.Errorf("vector not printed in full:\n%s", out)
	}
}

func TestDotModesAndTimer(t *testing.T) {
	sh := newTestShell(t, true)
	sh.mustFeed(t, "CREATE TABLE t (key VECTOR(50), label TEXT); INSERT INTO t VALUES (NULL, NULL);")
	sh.mustFeed(t, "UPDATE t SET key = ["+strings.Repeat("1, ", 49)+"2];")
	full := "[" + strings.Repeat("1,", 49) + "2]"
	for mode, want := range map[string]string{
		"csv":   "key,label\n\"[" + strings.Repeat("1, ", 49) + "2]\",\n",
		"json":  `[{"key":` + full + `,"label":null}]` + "\n",
		"jsonl": `{"key":` + full + `,"label":null}` + "\n",
	} {
		sh.mustFeed(t, ".mode "+mode)
		if out := sh.mustFeed(t, "SELECT key, label FROM t;"); out != want {
			t.Errorf(".mode %s:\n%s\nwant:\n%s", mode, out, want)
		}
		if out := sh.mustFeed(t, ".mode"); out != mode+"\n" {
			t.Errorf(".mode alone: %q", out)
		}
	}
	sh.mustFeed(t, ".mode table")
	if out := sh.mustFeed(t, "SELECT label FROM t;"); !strings.Contains(out, "label\n-------\n NULL\n") {
		t.Errorf(".mode table:\n%s", out)
	}
	if _, errs := sh.feed(t, ".mode xml"); !strings.Contains(errs, "usage: .mode table|csv|json|jsonl") {
		t.Errorf(".mode xml: %q", errs)
	}
	sh.mustFeed(t, ".timer on")
	if out := sh.mustFeed(t, "SELECT 1 AS one;"); !strings.Contains(out, "\nTime: ") || !strings.HasSuffix(out, " ms\n") {
		t.Errorf(".timer on:\n%s", out)
	}
	if out := sh.mustFeed(t, ".timer"); out != "on\n" {
		t.Errorf(".timer alone: %q", out)
	}
	sh.mustFeed(t, ".timer off")
	if out := sh.mustFeed(t, "SELECT 1 AS one;"); strings.Contains(out, "Time:") {
		t.Errorf(".timer off:\n%s", out)
	}
	if _, errs := sh.feed(t, ".timer maybe"); !strings.Contains(errs, "usage: .timer on|off") {
		t.Errorf(".timer maybe: %q", errs)
	}
}

func TestDotTablesSchemaHelp(t *testing.T) {
	sh := newTestShell(t, true)
	sh.mustFeed(t, `CREATE TABLE people (id INT PRIMARY KEY, name TEXT NOT NULL, key VECTOR(3));
CREATE TABLE "odd name" ("select" INT);
INSERT INTO people VALUES (1, 'ann', [1, 2, 3]);`)
	out := sh.mustFeed(t, ".tables")
	if !strings.Contains(out, " people   |    1\n") || !strings.Contains(out, " odd name |    0\n") {
		t.Errorf(".tables:\n%s", out)
	}
	want := "CREATE TABLE people (id INT PRIMARY KEY, name TEXT NOT NULL, key VECTOR(3)); -- 1 row\n"
	if out := sh.mustFeed(t, ".schema PEOPLE"); out != want {
		t.Errorf(".schema people:\n%s\nwant:\n%s", out, want)
	}
	out = sh.mustFeed(t, ".schema")
	if !strings.Contains(out, want) || !strings.Contains(out, `CREATE TABLE "odd name" ("select" INT); -- 0 rows`) {
		t.Errorf(".schema:\n%s", out)
	}
	if _, errs := sh.feed(t, ".schema nosuch"); !strings.Contains(errs, `no table "nosuch"`) {
		t.Errorf(".schema nosuch: %q", errs)
	}
	// An index is a CREATE INDEX of its own (DESCRIBE lists it among the
	// rows), and what .schema prints runs again on a fresh database.
	sh.mustFeed(t, `CREATE INDEX "people key" ON people (key) WITH (codes = int8);`)
	out = sh.mustFeed(t, ".schema people")
	if want := want + "CREATE INDEX \"people key\" ON people USING ivf (key) WITH (codes = int8); -- lists = 1\n"; out != want {
		t.Errorf(".schema people with an index:\n%s\nwant:\n%s", out, want)
	}
	fresh := newTestShell(t, true)
	fresh.mustFeed(t, out)
	if got := fresh.mustFeed(t, ".schema people"); got != strings.Replace(out, "1 row", "0 rows", 1) {
		t.Errorf(".schema after replaying it:\n%s\nwant:\n%s", got, out)
	}
	out = sh.mustFeed(t, ".help")
	for _, c := range dotCommands {
		if !strings.Contains(out, c) {
			t.Errorf(".help does not mention %s", c)
		}
	}
	if !strings.Contains(out, "SUM(weight) AS p FROM digits") {
		t.Errorf(".help suggests no query:\n%s", out)
	}
	if _, errs := sh.feed(t, ".frobnicate"); errs != "Error: unknown command .frobnicate (try .help)\n" {
		t.Errorf("unknown command: %q", errs)
	}
	for _, q := range []string{".quit", ".exit", "  .quit  "} {
		if sh.Feed(context.Background(), q) {
			t.Errorf("%q did not end the shell", q)
		}
	}
}

func TestDotOutputAndRead(t *testing.T) {
	dir := t.TempDir()
	sh := newTestShell(t, true)
	sh.mustFeed(t, "CREATE TABLE t (key VECTOR(30));")
	sh.mustFeed(t, "INSERT INTO t VALUES (["+strings.Repeat("7, ", 29)+"8]);")
	file := filepath.Join(dir, "out put.txt")
	sh.mustFeed(t, `.output "`+file+`"`)
	if out := sh.mustFeed(t, "SELECT key FROM t;"); out != "" {
		t.Errorf("results still on the screen: %q", out)
	}
	sh.mustFeed(t, ".output")
	if out := sh.mustFeed(t, "SELECT 1 AS one;"); !strings.Contains(out, "one") {
		t.Errorf("results not back on the screen: %q", out)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	// A file gets every element, as a script does.
	if !strings.Contains(string(data), strings.Repeat("7, ", 29)+"8]") {
		t.Errorf("output file:\n%s", data)
	}
	if _, errs := sh.feed(t, ".output "+filepath.Join(dir, "no/such/dir")); !strings.HasPrefix(errs, "Error: ") {
		t.Errorf(".output to a bad path: %q", errs)
	}

	script := filepath.Join(dir, "s.sql")
	os.WriteFile(script, []byte("INSERT INTO t VALUES (["+strings.Repeat("1, ", 29)+"1]);\nSELECT count(*) AS n FROM t;\n"), 0o644)
	if out := sh.mustFeed(t, ".read "+script); !strings.Contains(out, " 2\n") {
		t.Errorf(".read:\n%s", out)
	}
	os.WriteFile(script, []byte("SELECT 1 AS one;\nSELECT nope FROM t;\nSELECT 3 AS three;\n"), 0o644)
	out, errs := sh.feed(t, ".read "+script)
	if !strings.Contains(out, "one") || strings.Contains(out, "three") {
		t.Errorf(".read does not stop at the file's first error:\n%s", out)
	}
	if want := "Error: " + script + ": line 2:8: column \"nope\" does not exist in table \"t\"\n"; errs != want {
		t.Errorf(".read error %q, want %q", errs, want)
	}
	if _, errs := sh.feed(t, ".read "+filepath.Join(dir, "missing.sql")); !strings.Contains(errs, "no such file") {
		t.Errorf(".read of a missing file: %q", errs)
	}
}

// TestDotImport runs .import through COPY; it needs COPY FROM csv.
func TestDotImport(t *testing.T) {
	dir := t.TempDir()
	sh := newTestShell(t, true)
	sh.mustFeed(t, "CREATE TABLE pts (key VECTOR(2), label TEXT);")
	file := filepath.Join(dir, "it's.csv") // a quote to escape
	os.WriteFile(file, []byte("key,label\n\"[1, 0]\",a\n\"[0, 1]\",b\n"), 0o644)
	out, errs := sh.feed(t, `.import "`+file+`" pts`)
	if errs != "" || out != "Imported 2 rows into pts.\n" {
		t.Fatalf(".import: %q %q", out, errs)
	}
	if out := sh.mustFeed(t, "HARD SELECT label FROM pts MATCH [0.1, 0.9];"); !strings.Contains(out, " b\n") {
		t.Errorf("after .import:\n%s", out)
	}
	if _, errs := sh.feed(t, ".import "+filepath.Join(dir, "missing.csv")+" pts"); !strings.HasPrefix(errs, "Error: ") {
		t.Errorf(".import of a missing file: %q", errs)
	}
	if _, errs := sh.feed(t, ".import "+file+" nosuch"); !strings.Contains(errs, "nosuch") {
		t.Errorf(".import into a missing table: %q", errs)
	}
	if _, errs := sh.feed(t, `.import "`+file+`"`); !strings.Contains(errs, "usage: .import FILE TABLE") {
		t.Errorf(".import without a table: %q", errs)
	}
}

func TestDemo(t *testing.T) {
	sh := newTestShell(t, true)
	out := sh.mustFeed(t, ".demo")
	if !strings.Contains(out, "library") || !strings.Contains(out, "Try:\n  HARD SELECT") {
		t.Errorf(".demo says:\n%s", out)
	}
	out = sh.mustFeed(t, ".tables")
	if !strings.Contains(out, " digits  | 1797\n") || !strings.Contains(out, " library |   14\n") {
		t.Errorf(".tables after .demo:\n%s", out)
	}
	// The suggested soft classifier recognises digit 1 (rowid 2 is a 1).
	sh.mustFeed(t, ".mode csv")
	out = sh.mustFeed(t, "SOFT SELECT label, SUM(weight) AS p FROM digits MATCH (SELECT key FROM digits WHERE rowid = 2) TEMPERATURE 0.05 GROUP BY label ORDER BY p DESC LIMIT 1;")
	if !strings.HasPrefix(out, "label,p\n1,0.") {
		t.Errorf("soft classifier:\n%s", out)
	}
	// Keys are L2-normalised: a key matched with itself scores 1.
	out = sh.mustFeed(t, "HARD SELECT score FROM digits MATCH (SELECT key FROM digits WHERE rowid = 100);")
	if out != "score\n1\n" && !strings.HasPrefix(out, "score\n0.99999") && !strings.HasPrefix(out, "score\n1.0000") {
		t.Errorf("self score:\n%s", out)
	}
	out = sh.mustFeed(t, "HARD SELECT title FROM library MATCH [0, 0.7, 0.7, 0];")
	if out != "title\nCod\n" {
		t.Errorf("library:\n%s", out)
	}
	// Loading again leaves the tables alone.
	out = sh.mustFeed(t, ".demo")
	if !strings.Contains(out, "library exists already") || !strings.Contains(out, "digits exists already") {
		t.Errorf("second .demo:\n%s", out)
	}
	if out := sh.mustFeed(t, "SELECT count(*) AS n FROM digits;"); out != "n\n1797\n" {
		t.Errorf("digits after a second .demo: %q", out)
	}
}

func TestDemoFlag(t *testing.T) {
	out, errs, code := runCLI(t, "SELECT count(*) AS n FROM library;", "--demo", "--format", "jsonl")
	if code != 0 || out != `{"n":14}`+"\n" {
		t.Errorf("--demo in a script: exit %d, %q, %q", code, out, errs)
	}
}

func TestCompletion(t *testing.T) {
	sh := newTestShell(t, true)
	sh.mustFeed(t, "CREATE TABLE digits (key VECTOR(2), label INT); CREATE TABLE library (title TEXT);")
	c := &completer{sh: sh.Shell}
	for _, tc := range []struct {
		line string
		want []string
	}{
		{"SEL", []string{"ECT "}},
		{"sel", []string{"ect "}},
		{"SELECT * FROM dig", []string{"its "}},
		{"SELECT * FROM l", []string{"ibrary "}}, // only tables after FROM
		{"SELECT ti", []string{"tle"}},           // no space: a "," may follow
		{"SELECT lab", []string{"el"}},
		{"SOFT SELECT label, wei", []string{"ght"}},
		{"SELECT co", []string{"alesce", "mmit", "py", "sine", "sine_distance", "unt"}},
		{"SELECT * FROM digits WH", []string{"ERE "}},
		{"SOFT SELECT label FROM digits MATCH [1, 0] TEMP", []string{"ERATURE "}},
		{".sch", []string{"ema "}},
		{".", dotCommands},
		{".mode j", []string{"son", "sonl"}},
		{".timer o", []string{"ff", "n"}},
		{".schema li", []string{"brary "}},
		{".import x.csv di", []string{"gits "}},
		{"SELECT 1 ", nil},
		// After a word that only a table can follow, Tab lists the tables.
		{"SELECT * FROM ", []string{"digits", "library"}},
		{"INSERT INTO ", []string{"digits", "library"}},
		{"DROP TABLE ", []string{"digits", "library"}},
		{"update ", []string{"digits", "library"}},
		{"DESCRIBE ", []string{"digits", "library"}},
		{"SELECT * FROM digits ", nil},
	} {
		got, n := c.Do([]rune(tc.line), len([]rune(tc.line)))
		var gs []string
		for _, g := range got {
			gs = append(gs, string(g))
		}
		if tc.line == "." {
			for i, d := range tc.want {
				if i >= len(gs) || "."+gs[i] != d {
					t.Errorf("%q: got %q, want the dot commands", tc.line, gs)
					break
				}
			}
			continue
		}
		if fmt.Sprint(gs) != fmt.Sprint(tc.want) {
			t.Errorf("%q: got %q (length %d), want %q", tc.line, gs, n, tc.want)
		}
	}
	// File names after .read.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "queries.sql"), nil, 0o644)
	line := ".read " + dir + "/que"
	if got, n := c.Do([]rune(line), len([]rune(line))); len(got) != 1 || string(got[0]) != "ries.sql " || n != 3 {
		t.Errorf("file completion: %q %d", got, n)
	}
}

func TestHelpers(t *testing.T) {
	for in, want := range map[string]string{"t": "t", "my table": `"my table"`, "select": `"select"`, `a"b`: `"a""b"`, "key": "key"} {
		if got := identSQL(in); got != want {
			t.Errorf("identSQL(%q) = %s, want %s", in, got, want)
		}
	}
	args, err := splitArgs(`.import 'my file.csv' "t" x`)
	if err != nil || fmt.Sprint(args) != "[.import my file.csv t x]" {
		t.Errorf("splitArgs: %q %v", args, err)
	}
	if _, err := splitArgs(`.read 'open`); err == nil {
		t.Error("splitArgs accepted an open quote")
	}
	for w, want := range map[float64]string{0: "", 1: strings.Repeat("█", barWidth), 0.5: strings.Repeat("█", barWidth/2), 1e-9: "▏", 0.0125: "▎"} {
		if got := weightBar(w); got != want {
			t.Errorf("weightBar(%v) = %q, want %q", w, got, want)
		}
	}
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 12345: "12,345", 1234567: "1,234,567"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %s", n, got)
		}
	}
	v := make([]float32, 128)
	v[0], v[1] = 0.123456, -0.53
	if got := shortVector(v); got != "[0.1235, -0.53, 0, 0, 0, 0, …] (128)" {
		t.Errorf("shortVector = %s", got)
	}
	for _, v := range [][]float32{{1, 2.5}, {0.72393733, 0.8711234, 0.51468253, 0.7891234}} {
		if got := shortVector(v); strings.Contains(got, "…") {
			t.Errorf("short vectors stay whole: %s", got)
		}
	}
	if got := visible("a\tb\x1b[31mc\nd"); got != "a    b\\x1b[31mc\nd" {
		t.Errorf("visible = %q", got)
	}
	long := strings.Repeat("x", 100) + "!" + strings.Repeat("y", 100)
	if got := caretExcerpt(3, long, 101); got != "LINE 3: …"+strings.Repeat("x", 40)+"!"+strings.Repeat("y", 39)+"…\n"+strings.Repeat(" ", 8+41)+"^" {
		t.Errorf("caretExcerpt:\n%s", got)
	}
}

// TestCopyProgress: the bar stays silent for quick loads and appears, with
// rows and rows/s, once a load has run for progressDelay.
func TestCopyProgress(t *testing.T) {
	var buf bytes.Buffer
	p := &copyProgress{w: &buf}
	p.update(4096, 100000)
	if buf.Len() != 0 {
		t.Fatalf("a quick load drew %q", buf.String())
	}
	p.start = p.start.Add(-2 * progressDelay)
	p.update(50000, 100000)
	p.finish()
	out := buf.String()
	if !strings.Contains(out, "COPY") || !strings.Contains(out, "50000/100000") || !strings.Contains(out, "rows/s") {
		t.Errorf("progress output %q", out)
	}
	if p.bar != nil || !p.start.IsZero() {
		t.Error("finish did not reset the bar")
	}
}

// TestOutputFailureGoesBackToScreen: when the .output file fails (a full
// disk), the error says so once and results go to the screen again; the
// commands after it work.
func TestOutputFailureGoesBackToScreen(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full on this system")
	}
	sh := newTestShell(t, true)
	sh.mustFeed(t, ".output /dev/full")
	out, errs := sh.feed(t, "SELECT 1 AS one;")
	if !strings.Contains(errs, "no space left on device") || !strings.Contains(errs, "screen again") || out != "" {
		t.Errorf("writing to /dev/full: out %q, errors %q", out, errs)
	}
	if out := sh.mustFeed(t, "SELECT 2 AS two;"); !strings.Contains(out, "two") {
		t.Errorf("after the failure: %q", out)
	}
	// .output back to the screen works whether or not the file failed.
	sh.mustFeed(t, ".output /dev/full")
	sh.mustFeed(t, ".output")
	if out := sh.mustFeed(t, "SELECT 3 AS three;"); !strings.Contains(out, "three") {
		t.Errorf("after .output: %q", out)
	}
	sh.mustFeed(t, ".output /dev/full")
	sh.feed(t, ".tables")
	if out := sh.mustFeed(t, ".tables"); !strings.Contains(out, "name") {
		t.Errorf(".tables after the failure: %q", out)
	}
	// In a script, the failure stops it.
	_, errOut, code := runCLI(t, ".output /dev/full\nSELECT 1;\nSELECT 2;\n")
	if code != 1 || !strings.Contains(errOut, "no space left on device") {
		t.Errorf("script: exit %d, %q", code, errOut)
	}
}

// failOnce is a writer whose first write fails.
type failOnce struct {
	failed bool
	bytes.Buffer
}

func (w *failOnce) Write(p []byte) (int, error) {
	if !w.failed {
		w.failed = true
		return 0, fmt.Errorf("broken for a moment")
	}
	return w.Buffer.Write(p)
}

// TestStdoutFailureIsNotSticky: a failed write to standard output fails
// its statement, not every statement after it.
func TestStdoutFailureIsNotSticky(t *testing.T) {
	db, err := softdb.Open(softdb.Memory, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var w failOnce
	var errb bytes.Buffer
	sh := NewShell(db, &w, &errb, "csv")
	defer sh.Close()
	sh.Feed(context.Background(), "SELECT 1 AS one;\nSELECT 2 AS two;\n")
	if !strings.Contains(errb.String(), "broken for a moment") || w.String() != "two\n2\n" {
		t.Errorf("out %q, errors %q", w.String(), errb.String())
	}
}

// TestDotCommandsInScripts: dot commands run from standard input, from
// .read files and in the SQL argument, as sqlite3 runs them; a failing
// one stops the script, .quit ends it.
func TestDotCommandsInScripts(t *testing.T) {
	dir := t.TempDir()
	script := "CREATE TABLE t (a INT);\n  .mode csv\nINSERT INTO t VALUES (1), (2);\n-- a comment\n.tables\nSELECT a FROM t; .no -- a statement, not at a line start\n"
	out, errOut, code := runCLI(t, script)
	if code != 1 || out != "name,rows\nt,2\na\n1\n2\n" || !strings.Contains(errOut, `line 6:`) {
		t.Errorf("stdin: exit %d, out %q, errors %q", code, out, errOut)
	}
	out, errOut, code = runCLI(t, ".mode jsonl\nSELECT 1 AS one;\n.quit\nSELECT 2 AS two;\n")
	if code != 0 || out != "{\"one\":1}\n" || errOut != "" {
		t.Errorf(".quit: exit %d, out %q, errors %q", code, out, errOut)
	}
	out, errOut, code = runCLI(t, "SELECT 1 AS one;\n.mode xml\nSELECT 2 AS two;\n")
	if code != 1 || strings.Contains(out, "two") || errOut != "Error: near line 2: usage: .mode table|csv|json|jsonl\n" {
		t.Errorf("a failing dot command: exit %d, out %q, errors %q", code, out, errOut)
	}
	out, errOut, code = runCLI(t, "", dir, "CREATE TABLE t (a INT);\n.schema t")
	if code != 0 || out != "CREATE TABLE t (a INT); -- 0 rows\n" {
		t.Errorf("SQL argument: exit %d, out %q, errors %q", code, out, errOut)
	}
	out, errOut, code = runCLI(t, "", dir, ".mode csv")
	if code != 0 || out != "" || errOut != "" {
		t.Errorf("SQL argument .mode: exit %d, out %q, errors %q", code, out, errOut)
	}

	// .read files hold dot commands too, and nest.
	inner := filepath.Join(dir, "inner.sql")
	outer := filepath.Join(dir, "outer.sql")
	os.WriteFile(inner, []byte(".mode csv\nSELECT 2 AS two;\n"), 0o644)
	os.WriteFile(outer, []byte("SELECT 1 AS one;\n.read "+inner+"\n.mode jsonl\nSELECT 3 AS three;\n"), 0o644)
	sh := newTestShell(t, true)
	if out := sh.mustFeed(t, ".read "+outer); !strings.Contains(out, "one\n-----\n   1\n") || !strings.Contains(out, "two\n2\n{\"three\":3}\n") {
		t.Errorf(".read with dot commands:\n%s", out)
	}
	out, errOut, code = runCLI(t, ".read "+outer+"\n")
	if code != 0 || !strings.HasSuffix(out, "two\n2\n{\"three\":3}\n") {
		t.Errorf(".read from stdin: exit %d, out %q, errors %q", code, out, errOut)
	}
	// A file that reads itself ends with an error.
	self := filepath.Join(dir, "self.sql")
	os.WriteFile(self, []byte("SELECT 1;\n.read "+self+"\n"), 0o644)
	_, errOut, code = runCLI(t, ".read "+self+"\n")
	if code != 1 || !strings.Contains(errOut, "nested more than") {
		t.Errorf("recursive .read: exit %d, errors %q", code, errOut)
	}
}

// TestCommandTags: on a screen, statements without rows say what they did,
// as psql's command tags; scripts and files print nothing for them.
func TestCommandTags(t *testing.T) {
	dir := t.TempDir()
	csv := filepath.Join(dir, "t.csv")
	os.WriteFile(csv, []byte("a\n5\n6\n7\n"), 0o644)
	sh := newTestShell(t, true)
	for _, tc := range []struct{ sql, want string }{
		{"CREATE TABLE t (a INT);", "CREATE TABLE\n"},
		{"INSERT INTO t VALUES (1), (2);", "INSERT 2\n"},
		{"UPDATE t SET a = 3 WHERE a = 1;", "UPDATE 1\n"},
		{"DELETE FROM t WHERE a > 10;", "DELETE 0\n"},
		{"COPY t FROM '" + csv + "';", "COPY 3\n"},
		{"BEGIN; DELETE FROM t; ROLLBACK;", "BEGIN\nDELETE 5\nROLLBACK\n"},
		{"DROP TABLE t;", "DROP TABLE\n"},
	} {
		if out := sh.mustFeed(t, tc.sql); out != tc.want {
			t.Errorf("%s printed %q, want %q", tc.sql, out, tc.want)
		}
	}
	if out := newTestShell(t, false).mustFeed(t, "CREATE TABLE t (a INT); INSERT INTO t VALUES (1);"); out != "" {
		t.Errorf("off the screen: %q", out)
	}
	if out, _, _ := runCLI(t, "CREATE TABLE t (a INT); INSERT INTO t VALUES (1);"); out != "" {
		t.Errorf("script: %q", out)
	}
}
