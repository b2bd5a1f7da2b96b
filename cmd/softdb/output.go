package main

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
	"github.com/softdb/softdb"
	"github.com/softdb/softdb/query"
	"github.com/softdb/softdb/types"
)

// formatNames are the accepted --format and .mode values.
var formatNames = []string{"table", "csv", "json", "jsonl"}

func validFormat(f string) bool {
	for _, n := range formatNames {
		if n == f {
			return true
		}
	}
	return false
}

// On a screen, tables stop after maxScreenRows rows: a terminal scrolled
// past thousands of lines helps nobody, and the hint says how to get all.
const maxScreenRows = 1000

// barWidth is the width in cells of the bar of weight 1.
const barWidth = 20

// print writes one statement's rows in the shell's format.
func (s *Shell) print(stmt query.Statement, st *softdb.Statement) error {
	switch s.Format {
	case "csv":
		return s.printCSV(st)
	case "json":
		return s.printJSON(st, false)
	case "jsonl":
		return s.printJSON(st, true)
	}
	return s.printTable(stmt, st)
}

// cellText renders a value for table and csv output: NULL as NULL, floats
// in their shortest round-trip form, vectors in the pgvector text form.
func cellText(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return types.FormatFloat(x)
	case string:
		return x
	case []float32:
		return types.FormatVector(x)
	}
	return fmt.Sprint(v)
}

// shortVectorLen is the longest vector text shown whole on a screen; a
// longer one shows its first elements in about half that width.
const shortVectorLen = 72

// shortVector abbreviates a long vector for a screen: its first elements
// to 4 significant digits, then its dimension, e.g. "[0.12, -0.53, …] (128)".
func shortVector(v []float32) string {
	full := types.FormatVector(v)
	if len(full) <= shortVectorLen {
		return full
	}
	var b strings.Builder
	b.WriteByte('[')
	for i := 0; i < len(v)-1 && (i < 2 || b.Len() < shortVectorLen/2-8); i++ {
		b.WriteString(strconv.FormatFloat(float64(v[i]), 'g', 4, 32))
		b.WriteString(", ")
	}
	fmt.Fprintf(&b, "…] (%d)", len(v))
	return b.String()
}

// psqlSymbols draw tables the way psql does: no outer border, " | "
// between columns and a dashed line under the header.
var psqlSymbols = tw.NewSymbolCustom("softdb").
	WithRow("-").WithColumn("|").WithCenter("+").
	WithMidLeft("").WithMidRight("")

func (s *Shell) printTable(stmt query.Statement, st *softdb.Statement) error {
	if len(st.Columns) == 0 {
		return nil
	}
	screen := s.onScreen()
	rows, more := st.Rows, 0
	if screen && len(rows) > maxScreenRows {
		rows, more = rows[:maxScreenRows], len(rows)-maxScreenRows
	}
	bar := -1
	if screen {
		bar = weightColumn(stmt, st.Columns)
	}
	align := make([]tw.Align, len(st.Columns))
	headerAlign := make([]tw.Align, len(st.Columns))
	for i := range st.Columns {
		align[i], headerAlign[i] = tw.AlignLeft, tw.AlignCenter
		if numericColumn(rows, i) {
			align[i] = tw.AlignRight
		}
	}
	header := make([]string, len(st.Columns))
	for i, c := range st.Columns {
		header[i] = visible(c)
	}
	if bar >= 0 {
		// The bar chart is an extra column right after the weights it draws.
		header = insertAt(header, bar+1, "bar")
		align = insertAt(align, bar+1, tw.AlignLeft)
		headerAlign = insertAt(headerAlign, bar+1, tw.AlignLeft)
	}

	body := make([][]string, len(rows))
	for r, row := range rows {
		cells := make([]string, len(row))
		for i, v := range row {
			cells[i] = s.screenCell(v, screen)
		}
		if bar >= 0 {
			cells = insertAt(cells, bar+1, weightBar(row[bar]))
		}
		body[r] = cells
	}
	if !plainTable(s.Out, header, body, align, headerAlign) {
		if err := libraryTable(s.Out, header, body, align, headerAlign); err != nil {
			return err
		}
	}
	switch {
	case more > 0:
		noun := "rows"
		if more == 1 {
			noun = "row"
		}
		fmt.Fprintf(s.Out, "… %s more %s (use LIMIT or .mode csv)\n", thousands(more), noun)
	case screen && len(rows) == 0:
		s.Out.WriteString("(0 rows)\n")
	}
	return nil
}

// libraryTable lays a table out with the table library: psql's look,
// display widths of any text, cells of several lines.
func libraryTable(out *bufio.Writer, header []string, body [][]string, align, headerAlign []tw.Align) error {
	var buf bytes.Buffer
	t := tablewriter.NewTable(&buf,
		tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{
			Borders: tw.BorderNone,
			Symbols: psqlSymbols,
			Settings: tw.Settings{
				Separators: tw.Separators{BetweenColumns: tw.On, BetweenRows: tw.Off},
				Lines:      tw.Lines{ShowHeaderLine: tw.On},
			},
		})),
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithHeaderAlignmentConfig(tw.CellAlignment{PerColumn: headerAlign}),
		tablewriter.WithRowAlignmentConfig(tw.CellAlignment{PerColumn: align}),
		tablewriter.WithTrimSpace(tw.Off),
		tablewriter.WithTrimLine(tw.Off),
		tablewriter.WithHeaderAutoWrap(tw.WrapNone),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
	)
	t.Header(header)
	for _, cells := range body {
		if err := t.Append(cells); err != nil {
			return err
		}
	}
	if err := t.Render(); err != nil {
		return err
	}
	// Padding the last column leaves trailing blanks that only get in the
	// way of copying and of diffs.
	for _, line := range strings.SplitAfter(buf.String(), "\n") {
		if line == "" {
			continue
		}
		out.WriteString(strings.TrimRight(line, " \n"))
		out.WriteByte('\n')
	}
	return nil
}

// plainTable lays a table out as libraryTable does when every header and
// cell is printable ASCII (one byte, one column, one line), and reports
// false, writing nothing, otherwise. The library allocates some 0.5 MB to
// set up each table, which made a script of short SELECTs ten times
// slower in the table format than in csv.
func plainTable(out *bufio.Writer, header []string, body [][]string, align, headerAlign []tw.Align) bool {
	width := make([]int, len(header))
	measure := func(cells []string) bool {
		for i, c := range cells {
			for j := 0; j < len(c); j++ {
				if c[j] < 0x20 || c[j] > 0x7e {
					return false
				}
			}
			width[i] = max(width[i], len(c))
		}
		return true
	}
	if !measure(header) {
		return false
	}
	for _, cells := range body {
		if len(cells) != len(header) || !measure(cells) {
			return false
		}
	}
	var line []byte
	emit := func(cells []string, pad func(i int, c string) (left, right int)) {
		line = line[:0]
		for i, c := range cells {
			if i > 0 {
				line = append(line, '|')
			}
			left, right := pad(i, c)
			line = appendBlanks(line, 1+left)
			line = append(line, c...)
			line = appendBlanks(line, right+1)
		}
		out.Write(bytes.TrimRight(line, " "))
		out.WriteByte('\n')
	}
	emit(header, func(i int, c string) (int, int) {
		extra := width[i] - len(c)
		if headerAlign[i] == tw.AlignLeft {
			return 0, extra
		}
		return extra / 2, extra - extra/2
	})
	if len(body) == 0 {
		return true // the library draws no line under a header alone
	}
	line = line[:0]
	for i, w := range width {
		if i > 0 {
			line = append(line, '+')
		}
		line = append(line, strings.Repeat("-", w+2)...)
	}
	out.Write(line)
	out.WriteByte('\n')
	for _, cells := range body {
		emit(cells, func(i int, c string) (int, int) {
			if align[i] == tw.AlignRight {
				return width[i] - len(c), 0
			}
			return 0, width[i] - len(c)
		})
	}
	return true
}

func appendBlanks(b []byte, n int) []byte {
	for ; n > 0; n-- {
		b = append(b, ' ')
	}
	return b
}

// insertAt returns a copy of list with v inserted before index i.
func insertAt[T any](list []T, i int, v T) []T {
	out := make([]T, 0, len(list)+1)
	out = append(out, list[:i]...)
	out = append(out, v)
	return append(out, list[i:]...)
}

// screenCell renders one table cell: on a screen long vectors are
// shortened and NULL is dimmed (when colours are on).
func (s *Shell) screenCell(v any, screen bool) string {
	switch x := v.(type) {
	case nil:
		if screen && s.Color {
			return "\x1b[2mNULL\x1b[0m"
		}
	case []float32:
		if screen {
			return shortVector(x)
		}
	case string:
		return visible(x)
	}
	return cellText(v)
}

// visible makes text safe to lay out in a table: a tab becomes spaces (the
// table library would expand it by a width it guesses from the working
// directory) and other control characters show escaped, so that text in
// the database cannot move the cursor or recolour the terminal.
func visible(s string) string {
	if strings.IndexFunc(s, func(r rune) bool { return r != '\n' && (r < 0x20 || r == 0x7f) }) < 0 {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\t':
			b.WriteString("    ")
		case r != '\n' && (r < 0x20 || r == 0x7f):
			fmt.Fprintf(&b, "\\x%02x", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// numericColumn reports whether column i holds only numbers (and NULLs),
// which are right-aligned as in psql.
func numericColumn(rows [][]any, i int) bool {
	seen := false
	for _, r := range rows {
		switch r[i].(type) {
		case int64, float64:
			seen = true
		case nil:
		default:
			return false
		}
	}
	return seen
}

// weightColumn returns the column of a row-form SOFT SELECT that holds
// weights — `weight` itself or an aggregate of it such as SUM(weight) AS p
// — or -1 when there is none.
func weightColumn(stmt query.Statement, cols []string) int {
	sel, ok := stmt.(*query.Select)
	if !ok || sel.Mode != query.Soft {
		return -1
	}
	for i, it := range sel.Items {
		if it.Star {
			break // columns no longer line up with items
		}
		if i < len(cols) && isWeight(it.Expr) {
			return i
		}
	}
	for i, c := range cols {
		if strings.EqualFold(c, "weight") {
			return i
		}
	}
	return -1
}

func isWeight(e query.Expr) bool {
	switch x := e.(type) {
	case *query.ColumnRef:
		return strings.EqualFold(x.Name, "weight")
	case *query.Call:
		switch strings.ToLower(x.Name) {
		case "sum", "max", "min", "avg":
			return len(x.Args) == 1 && isWeight(x.Args[0])
		}
	}
	return false
}

// weightBar draws a weight in [0, 1] as a bar of barWidth cells for 1, in
// eighths of a cell. A weight above zero always shows at least a sliver.
func weightBar(v any) string {
	w, ok := v.(float64)
	if !ok || math.IsNaN(w) || w <= 0 {
		return ""
	}
	eighths := int(math.Round(min(w, 1) * barWidth * 8))
	eighths = max(eighths, 1)
	const partial = " ▏▎▍▌▋▊▉"
	parts := []rune(partial)
	return strings.Repeat("█", eighths/8) + strings.TrimSpace(string(parts[eighths%8]))
}

// thousands writes n with comma separators: 12345 → "12,345".
func thousands(n int) string {
	s := strconv.Itoa(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func (s *Shell) printCSV(st *softdb.Statement) error {
	// One csv.Writer per output: csv.NewWriter puts a 4 KB buffer of its
	// own between it and s.Out, which a script of short statements would
	// allocate and clear once a statement.
	if s.csv == nil || s.csvOut != s.Out {
		s.csv, s.csvOut = csv.NewWriter(s.Out), s.Out
	}
	w := s.csv
	if err := w.Write(st.Columns); err != nil {
		return err
	}
	rec := make([]string, len(st.Columns))
	for _, row := range st.Rows {
		for i, v := range row {
			if v == nil {
				rec[i] = ""
			} else {
				rec[i] = cellText(v)
			}
		}
		if err := w.Write(rec); err != nil {
			return err
		}
	}
	w.Flush()
	return w.Error()
}

// printJSON writes rows as JSON objects with keys in column order: one per
// line (jsonl), or an array per statement (json).
func (s *Shell) printJSON(st *softdb.Statement, lines bool) error {
	if !lines {
		s.Out.WriteString("[")
	}
	for r, row := range st.Rows {
		if !lines && r > 0 {
			s.Out.WriteString(",\n")
		}
		s.Out.WriteByte('{')
		for i, v := range row {
			if i > 0 {
				s.Out.WriteByte(',')
			}
			s.Out.WriteString(jsonString(st.Columns[i]))
			s.Out.WriteByte(':')
			s.Out.WriteString(jsonValue(v))
		}
		s.Out.WriteByte('}')
		if lines {
			s.Out.WriteByte('\n')
		}
	}
	if !lines {
		s.Out.WriteString("]\n")
	}
	return nil
}

func jsonValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return "null" // JSON has no NaN or Inf
		}
		return types.FormatFloat(x)
	case string:
		return jsonString(x)
	case []float32:
		return types.FormatVectorCompact(x)
	}
	return jsonString(fmt.Sprint(v))
}

// jsonString quotes s as a JSON string (strconv.Quote's escapes are Go's,
// not JSON's, for control and non-UTF-8 bytes).
func jsonString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
