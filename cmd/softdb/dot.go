package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"unicode"

	"github.com/softdb/softdb"
	"github.com/softdb/softdb/query"
)

// dotCommands are the dot commands, for .help and tab completion.
var dotCommands = []string{
	".demo", ".exit", ".help", ".import", ".mode", ".output", ".quit",
	".read", ".schema", ".tables", ".timer",
}

const helpText = `.demo              load example tables (library, digits) and show queries to try
.help              this help
.import FILE TABLE load a file into a table (runs COPY TABLE FROM 'FILE')
.mode [FORMAT]     output format: table, csv, json or jsonl
.output [FILE]     send results to FILE; alone, back to the screen
.quit              leave (also .exit or Ctrl-D)
.read FILE         run the statements and dot commands in FILE
.schema [TABLE]    the CREATE TABLE statement of TABLE, or of every table
.tables            list the tables and their row counts
.timer [on|off]    show how long each statement takes

Statements end with ";" and may span several lines. Tab completes keywords,
table and column names; Up and Down recall earlier statements; Ctrl-C stops
a running statement or clears the one being typed.
`

// dot runs a dot command; it reports false when the shell (or the script
// it is in) should end.
func (s *Shell) dot(ctx context.Context, line string) (more bool, err error) {
	args, err := splitArgs(line)
	if err != nil {
		return true, err
	}
	name, args := args[0], args[1:]
	usage := func(u string) error { return fmt.Errorf("usage: %s", u) }
	switch name {
	case ".quit", ".exit":
		return false, nil
	case ".help":
		s.note("%s\nQueries to try on the demo tables (.demo loads them):\n%s", helpText, tryQueries)
	case ".tables":
		return true, s.ExecText(ctx, "SHOW TABLES;", query.Pos{Line: 1, Col: 1})
	case ".schema":
		if len(args) > 1 {
			return true, usage(".schema [TABLE]")
		}
		return true, s.schema(ctx, args)
	case ".mode":
		switch {
		case len(args) == 0:
			s.note("%s\n", s.Format)
		case len(args) == 1 && validFormat(args[0]):
			s.Format = args[0]
		default:
			return true, usage(".mode table|csv|json|jsonl")
		}
	case ".timer":
		switch {
		case len(args) == 0 && s.Timer:
			s.note("on\n")
		case len(args) == 0:
			s.note("off\n")
		case len(args) == 1 && (args[0] == "on" || args[0] == "off"):
			s.Timer = args[0] == "on"
		default:
			return true, usage(".timer on|off")
		}
	case ".import":
		if len(args) != 2 {
			return true, usage(".import FILE TABLE")
		}
		return true, s.importFile(ctx, args[0], args[1])
	case ".read":
		if len(args) != 1 {
			return true, usage(".read FILE")
		}
		return true, s.readFile(ctx, args[0])
	case ".output":
		if len(args) > 1 {
			return true, usage(".output [FILE]")
		}
		file := ""
		if len(args) == 1 {
			file = args[0]
		}
		return true, s.setOutput(file)
	case ".demo":
		if err := s.loadDemo(ctx); err != nil {
			return true, err
		}
		s.note("%s%s", demoText, tryText)
	default:
		return true, fmt.Errorf("unknown command %s (try .help)", name)
	}
	return true, nil
}

// splitArgs splits a dot command line at blanks; '…' and "…" quote an
// argument that holds blanks.
func splitArgs(line string) ([]string, error) {
	var args []string
	var cur strings.Builder
	inArg := false
	var quote rune
	for _, r := range line {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote, inArg = r, true
		case unicode.IsSpace(r):
			if inArg {
				args = append(args, cur.String())
				cur.Reset()
				inArg = false
			}
		default:
			cur.WriteRune(r)
			inArg = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c in %s", quote, line)
	}
	if inArg {
		args = append(args, cur.String())
	}
	return args, nil
}

// query runs one statement on the shell's connection and returns its rows.
func (s *Shell) query(ctx context.Context, sql string) (*softdb.Statement, error) {
	st, err := query.ParseOne(sql)
	if err != nil {
		return nil, err
	}
	if s.progress != nil {
		defer s.progress.finish()
	}
	return s.Conn.Run(ctx, st)
}

// tables lists the table names and row counts.
func (s *Shell) tables(ctx context.Context) (names []string, rows []int64, err error) {
	res, err := s.query(ctx, "SHOW TABLES")
	if err != nil {
		return nil, nil, err
	}
	for _, r := range res.Rows {
		name, _ := r[0].(string)
		n, _ := r[1].(int64)
		names = append(names, name)
		rows = append(rows, n)
	}
	return names, rows, nil
}

// column is one column of DESCRIBE.
type column struct {
	name, typ        string
	notNull, primary bool
}

func (s *Shell) describe(ctx context.Context, table string) ([]column, error) {
	res, err := s.query(ctx, "DESCRIBE "+identSQL(table))
	if err != nil {
		return nil, err
	}
	var cols []column
	for _, r := range res.Rows {
		var c column
		c.name, _ = r[0].(string)
		c.typ, _ = r[1].(string)
		if strings.HasPrefix(c.typ, "INDEX ") {
			continue // an index on the table (no column type starts so): see indexes
		}
		c.typ = strings.TrimSuffix(c.typ, " (match column)")
		nn, _ := r[2].(int64)
		pk, _ := r[3].(int64)
		c.notNull, c.primary = nn != 0, pk != 0
		cols = append(cols, c)
	}
	return cols, nil
}

// schema prints CREATE TABLE and CREATE INDEX statements, as sqlite3's
// .schema does: run again, they make the same tables.
func (s *Shell) schema(ctx context.Context, args []string) error {
	names, counts, err := s.tables(ctx)
	if err != nil {
		return err
	}
	if len(args) == 1 {
		i := indexFold(names, args[0])
		if i < 0 {
			return fmt.Errorf("no table %q (.tables lists them)", args[0])
		}
		names, counts = names[i:i+1], counts[i:i+1]
	}
	indexes, err := s.indexes(ctx)
	if err != nil {
		return err
	}
	for i, t := range names {
		cols, err := s.describe(ctx, t)
		if err != nil {
			return err
		}
		defs := make([]string, len(cols))
		for j, c := range cols {
			defs[j] = identSQL(c.name) + " " + c.typ
			if c.primary {
				defs[j] += " PRIMARY KEY"
			}
			if c.notNull && !c.primary { // a primary key is NOT NULL anyway
				defs[j] += " NOT NULL"
			}
		}
		fmt.Fprintf(s.Out, "CREATE TABLE %s (%s); -- %s\n", identSQL(t), strings.Join(defs, ", "), rowCount(int(counts[i])))
		for _, ix := range indexes {
			if ix[1] == t {
				// lists in a comment: on an empty table CREATE INDEX refuses
				// more lists than rows; REINDEX after a load rebuilds it.
				fmt.Fprintf(s.Out, "CREATE INDEX %s ON %s USING %s (%s) WITH (codes = %s); -- lists = %s\n", identSQL(ix[0]), identSQL(t), ix[3], identSQL(ix[2]), ix[5], ix[4])
			}
		}
	}
	return nil
}

// indexes lists SHOW INDEXES: name, table, column, method, lists, codes.
func (s *Shell) indexes(ctx context.Context) ([][6]string, error) {
	res, err := s.query(ctx, "SHOW INDEXES")
	if err != nil {
		return nil, err
	}
	out := make([][6]string, len(res.Rows))
	for i, r := range res.Rows {
		for j := range out[i] {
			if j < len(r) {
				out[i][j] = fmt.Sprint(r[j])
			}
		}
	}
	return out, nil
}

func indexFold(list []string, s string) int {
	for i, x := range list {
		if strings.EqualFold(x, s) {
			return i
		}
	}
	return -1
}

// identSQL writes a name as SQL: as it is when it parses as a plain
// column name, else double-quoted.
func identSQL(name string) string {
	plain := name != ""
	for i, r := range name {
		if !(r == '_' || unicode.IsLetter(r) || (i > 0 && unicode.IsDigit(r))) {
			plain = false
		}
	}
	if plain {
		// A reserved word needs quotes too: let the parser say.
		if _, err := query.Parse("CREATE TABLE t (" + name + " INT)"); err == nil {
			return name
		}
	}
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// stringSQL writes s as an SQL string literal.
func stringSQL(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// importFile loads file into table with COPY, so it reads every format
// COPY does, atomically.
func (s *Shell) importFile(ctx context.Context, file, table string) error {
	defer s.timed()()
	sql := "COPY " + identSQL(table) + " FROM " + stringSQL(file)
	res, err := s.query(ctx, sql)
	if err != nil {
		var qe *query.Error
		if errors.As(err, &qe) { // its position is in SQL the user did not type
			err = errors.New(qe.Msg)
		}
		return err
	}
	s.note("Imported %s into %s.\n", rowCount(int(res.Result.RowsAffected)), table)
	return nil
}

// rowCount says "1 row", "12,345 rows".
func rowCount(n int) string {
	if n == 1 {
		return "1 row"
	}
	return thousands(n) + " rows"
}

// maxReadDepth bounds .read inside .read: a file that reads itself ends
// with an error, not a stack overflow.
const maxReadDepth = 16

// readFile runs the statements and dot commands of a file as a script: it
// stops at the file's first error, or at its .quit.
func (s *Shell) readFile(ctx context.Context, file string) error {
	if s.readDepth >= maxReadDepth {
		return fmt.Errorf("%s: .read is nested more than %d deep (does a file read itself?)", file, maxReadDepth)
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	defer s.timed()()
	s.readDepth++
	defer func() { s.readDepth-- }()
	err = s.RunScript(ctx, f)
	switch {
	case err == nil || errors.Is(err, errQuit):
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	}
	return fmt.Errorf("%s: %s", file, err) // "q.sql: line 2:8: …"
}

// setOutput sends results to file ("" for standard output again). The
// screen is the output again whatever fails.
func (s *Shell) setOutput(file string) error {
	err := s.flush()
	if s.outFile != nil {
		if cerr := s.outFile.Close(); err == nil {
			err = cerr
		}
		s.outFile = nil
	}
	s.Out = s.stdout
	if file == "" || err != nil {
		return err
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	s.outFile = f
	s.Out = bufio.NewWriter(f)
	return nil
}

// onScreen reports whether results go to a person's terminal.
func (s *Shell) onScreen() bool { return s.Screen && s.outFile == nil }
