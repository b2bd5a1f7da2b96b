package main

import (
	"encoding/csv"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/softdb/softdb"
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

// print writes one statement's rows in the shell's format.
func (s *Shell) print(st *softdb.Statement) error {
	switch s.Format {
	case "csv":
		return s.printCSV(st)
	case "json":
		return s.printJSON(st, false)
	case "jsonl":
		return s.printJSON(st, true)
	}
	return s.printTable(st)
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

func (s *Shell) printTable(st *softdb.Statement) error {
	cells := make([][]string, len(st.Rows))
	width := make([]int, len(st.Columns))
	for i, c := range st.Columns {
		width[i] = utf8.RuneCountInString(c)
	}
	for r, row := range st.Rows {
		cells[r] = make([]string, len(row))
		for i, v := range row {
			t := cellText(v)
			cells[r][i] = t
			width[i] = max(width[i], utf8.RuneCountInString(t))
		}
	}
	line := func(vals []string) {
		for i, v := range vals {
			if i > 0 {
				s.Out.WriteString(" | ")
			}
			s.Out.WriteString(v)
			if i < len(vals)-1 {
				s.Out.WriteString(strings.Repeat(" ", width[i]-utf8.RuneCountInString(v)))
			}
		}
		s.Out.WriteByte('\n')
	}
	line(st.Columns)
	sep := make([]string, len(width))
	for i, w := range width {
		sep[i] = strings.Repeat("-", w)
	}
	s.Out.WriteString(strings.Join(sep, "-+-") + "\n")
	for _, row := range cells {
		line(row)
	}
	return nil
}

func (s *Shell) printCSV(st *softdb.Statement) error {
	w := csv.NewWriter(s.Out)
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
			s.Out.WriteString(strconv.Quote(st.Columns[i]))
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
		var b strings.Builder
		b.WriteByte('[')
		for i, f := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(types.FormatFloat32(f))
		}
		b.WriteByte(']')
		return b.String()
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
