package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/olekukonko/tablewriter/tw"
	"github.com/softdb/softdb"
	"github.com/softdb/softdb/query"
)

// BenchmarkScript runs 10⁵ `SELECT 1;` lines through the script runner,
// printing csv or tables to a discarded writer, and a dump of 10⁵ INSERTs
// in one transaction into an in-memory table; it reports statements per
// second: go test -run X -bench Script -benchtime 1x ./cmd/softdb
func BenchmarkScript(b *testing.B) {
	const n = 100_000
	selects := strings.Repeat("SELECT 1;\n", n)
	var dump strings.Builder
	dump.WriteString("BEGIN;\n")
	for i := range n {
		fmt.Fprintf(&dump, "INSERT INTO t VALUES (%d, [%d, 0.5, 1, 2], 'row %d');\n", i, i%7, i)
	}
	dump.WriteString("COMMIT;\n")
	for _, bc := range []struct{ name, format, script string }{
		{"select/format=csv", "csv", selects},
		{"select/format=table", "table", selects},
		{"insert", "csv", dump.String()},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				db, err := softdb.Open(softdb.Memory, nil)
				if err != nil {
					b.Fatal(err)
				}
				sh := NewShell(db, io.Discard, io.Discard, bc.format)
				if err := sh.ExecText(context.Background(), "CREATE TABLE t (id INT PRIMARY KEY, key VECTOR(4), label TEXT);", query.Pos{Line: 1, Col: 1}); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if err := sh.RunScript(context.Background(), strings.NewReader(bc.script)); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				sh.Close()
				db.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "stmts/s")
		})
	}
}

// splitAll feeds script to a splitter in pieces of size chunk and returns
// the pieces and the bytes scanned.
func splitAll(script string, chunk int) ([]piece, int) {
	sp := newSplitter()
	var out []piece
	for i := 0; ; i += chunk {
		end := min(i+chunk, len(script))
		sp.write([]byte(script[i:end]))
		eof := end == len(script)
		for {
			p, ok := sp.next(eof)
			if !ok {
				break
			}
			out = append(out, p)
		}
		if eof {
			return out, sp.steps
		}
	}
}

const splitScript = "SELECT ';' AS a; -- c;\nINSERT INTO t VALUES ('x;y', [1, 2]); /* ; */ SHOW TABLES;SELECT \"q;\" FROM t;\n" +
	"SELECT 1 - 2; SELECT 4 / 2; SELECT 'it''s;' AS \"a\"\"b;\"; ; \n.mode csv\n  .tables\r\nSELECT 1\n.5;\n-- a comment\n" +
	"/* a\n.comment */\n.read 'x y.sql'\nSELECT 1; .no\n-- two dashes - and / a slash\nSELECT '--', '/*'; SELECT 'end"

// TestSplitter: the pieces of a script, each where it is in the script
// (offset, line and column), whatever the sizes of the reads.
func TestSplitter(t *testing.T) {
	want := []string{
		"SELECT ';' AS a;",
		"INSERT INTO t VALUES ('x;y', [1, 2]);",
		"SHOW TABLES;",
		`SELECT "q;" FROM t;`,
		"SELECT 1 - 2;",
		"SELECT 4 / 2;",
		`SELECT 'it''s;' AS "a""b;";`,
		".mode csv\n",
		".tables\r\n",
		"SELECT 1\n.5;",
		".read 'x y.sql'\n",
		"SELECT 1;",
		".no\n-- two dashes - and / a slash\nSELECT '--', '/*';",
		"SELECT 'end",
	}
	for chunk := 1; chunk <= len(splitScript); chunk++ {
		got, steps := splitAll(splitScript, chunk)
		var texts []string
		for _, p := range got {
			texts = append(texts, p.text)
			// ".no" follows a statement on its line: it is no dot command.
			if p.dot != (strings.HasPrefix(p.text, ".") && !strings.HasPrefix(p.text, ".no")) {
				t.Errorf("chunk %d: %q: dot %v", chunk, p.text, p.dot)
			}
			if off := p.off; off+len(p.text) > len(splitScript) || splitScript[off:off+len(p.text)] != p.text {
				t.Fatalf("chunk %d: %q is not at offset %d", chunk, p.text, off)
			}
			before := splitScript[:p.off]
			line := strings.Count(before, "\n") + 1
			col := len(before) - strings.LastIndexByte(before, '\n')
			if int(p.at.Line) != line || int(p.at.Col) != col {
				t.Errorf("chunk %d: %q at %d:%d, want %d:%d", chunk, p.text, p.at.Line, p.at.Col, line, col)
			}
		}
		if strings.Join(texts, "|") != strings.Join(want, "|") {
			t.Fatalf("chunk %d: pieces\n%q\nwant\n%q", chunk, texts, want)
		}
		// Each byte is scanned once, and once more at most when a read
		// ends on a byte whose meaning depends on the next ("-", "/",
		// "*", a quote).
		if steps > 2*len(splitScript) {
			t.Errorf("chunk %d: %d bytes scanned for a script of %d", chunk, steps, len(splitScript))
		}
	}
}

// TestSplitterAgreesWithStatementEnd: every statement the splitter cuts
// ends where query.StatementEnd says, on random scripts.
func TestSplitterAgreesWithStatementEnd(t *testing.T) {
	words := []string{"SELECT", " ", "\n", ";", "'a;'", "'", `"b;"`, `"`, "--", "-", "/", "*", "/*", "*/", "''", "1", ".", "x"}
	rng := rand.New(rand.NewPCG(7, 7))
	for range 2000 {
		var b strings.Builder
		for range rng.IntN(30) {
			b.WriteString(words[rng.IntN(len(words))])
		}
		script := b.String()
		pieces, _ := splitAll(script, 1+rng.IntN(8))
		for i, p := range pieces {
			if p.dot {
				continue
			}
			end := query.StatementEnd(p.text)
			last := i == len(pieces)-1
			if end != len(p.text) && !(last && end < 0) {
				t.Fatalf("script %q: piece %q, StatementEnd %d", script, p.text, end)
			}
		}
	}
}

// TestScriptWorkIsLinear: a script of n statements hands each byte to the
// parser once and scans it O(1) times, fed a line or a byte at a time —
// a script runner that re-reads what it has read is quadratic.
func TestScriptWorkIsLinear(t *testing.T) {
	script := strings.Repeat("SELECT 1;\n", 20_000) + strings.Repeat("SELECT 1; ", 20_000)
	for _, chunk := range []int{1, 10, 4096} {
		pieces, steps := splitAll(script, chunk)
		total := 0
		for _, p := range pieces {
			total += len(p.text)
		}
		if len(pieces) != 40_000 || total != 40_000*len("SELECT 1;") {
			t.Errorf("chunk %d: %d pieces of %d bytes in all", chunk, len(pieces), total)
		}
		if steps > len(script) {
			t.Errorf("chunk %d: %d bytes scanned for a script of %d", chunk, steps, len(script))
		}
	}
}

// TestScriptErrorLineDeep: the line and column of an error stay exact deep
// into a long script, also after several statements on one line.
func TestScriptErrorLineDeep(t *testing.T) {
	// 100,000 lines: statements, comments and blank lines.
	const n = 100_000
	script := strings.Repeat("SELECT 1;\n-- a comment\n"+strings.Repeat("\n", 98), n/100) + "SELECT 2; SELECT 3;\n  SELECT nope;\n"
	var out, errb strings.Builder
	db, err := softdb.Open(softdb.Memory, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sh := NewShell(db, &out, &errb, "csv")
	defer sh.Close()
	err = sh.RunScript(context.Background(), strings.NewReader(script))
	if want := fmt.Sprintf(`line %d:10: column "nope" does not exist (the statement has no FROM)`, n+2); err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
	err = sh.RunScript(context.Background(), strings.NewReader(script[:len(script)-len("  SELECT nope;\n")]+"SELECT 4;  SELECT 'open"))
	if want := fmt.Sprintf("line %d:19: unterminated string literal", n+2); err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
}

// TestPlainTableMatchesLibrary: the plain layout of ASCII tables is the
// table library's, byte for byte, on random tables.
func TestPlainTableMatchesLibrary(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	words := []string{"", " ", "a", "label", "0.5447753996869446", "-1", "NULL", "x y", "[1, 2]", "north-east", "  lead", "trail  ", "|", "-+-"}
	for round := range 3000 {
		cols := 1 + rng.IntN(4)
		header := make([]string, cols)
		align := make([]tw.Align, cols)
		headerAlign := make([]tw.Align, cols)
		for i := range header {
			header[i] = words[rng.IntN(len(words))]
			align[i], headerAlign[i] = tw.AlignLeft, tw.AlignCenter
			if rng.IntN(2) == 0 {
				align[i] = tw.AlignRight
			}
			if rng.IntN(4) == 0 {
				headerAlign[i] = tw.AlignLeft
			}
		}
		body := make([][]string, rng.IntN(4))
		for r := range body {
			body[r] = make([]string, cols)
			for i := range body[r] {
				body[r][i] = words[rng.IntN(len(words))]
			}
		}
		var plain, lib bytes.Buffer
		pw, lw := bufio.NewWriter(&plain), bufio.NewWriter(&lib)
		if !plainTable(pw, header, body, align, headerAlign) {
			t.Fatalf("round %d: plainTable refused ASCII", round)
		}
		if err := libraryTable(lw, header, body, align, headerAlign); err != nil {
			t.Fatal(err)
		}
		pw.Flush()
		lw.Flush()
		if plain.String() != lib.String() {
			t.Fatalf("round %d: header %q rows %q align %v %v\nplain:\n%s\nlibrary:\n%s", round, header, body, align, headerAlign, plain.String(), lib.String())
		}
	}
	var b bytes.Buffer
	if plainTable(bufio.NewWriter(&b), []string{"a"}, [][]string{{"é"}}, []tw.Align{tw.AlignLeft}, []tw.Align{tw.AlignCenter}) || b.Len() != 0 {
		t.Error("plainTable took a non-ASCII cell")
	}
}
