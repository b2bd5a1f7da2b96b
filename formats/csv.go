package formats

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/softdb/softdb/types"
)

// csvReader reads RFC 4180 CSV: fields separated by the delimiter, quoted
// with '"' ("" inside quotes is a quote), records ending in \n or \r\n,
// quoted fields may span lines. Scanning is done in place in the buffer.
type csvReader struct {
	t      *textSource
	cols   []Column
	delim  byte
	header bool
	line   int64 // line of the next record
	pos    Pos   // position of the record last returned

	plan    [][]int  // per target column, its field(s); nil until known
	wide    []bool   // per target column: spread over several fields
	srcName []string // per field, the name used in errors
	nfields int
	fields  []csvField
	arena   arena
}

type csvField struct {
	b      []byte
	quoted bool
}

func newCSVReader(src io.ReadCloser, size int64, path string, cols []Column, o Options) (*csvReader, error) {
	c := &csvReader{
		t:      newTextSource(src, size, path),
		cols:   cols,
		delim:  o.delimiter(),
		header: o.header(),
		line:   1,
	}
	if !c.header {
		return c, nil
	}
	rec, line, err := c.record()
	if err == io.EOF {
		// An empty file has no rows (as in PostgreSQL), header or not.
		c.plan = [][]int{}
		return c, nil
	}
	if err != nil {
		return nil, err
	}
	if err := c.split(rec, line); err != nil {
		return nil, err
	}
	names := make([]string, len(c.fields))
	for i, f := range c.fields {
		names[i] = string(trimSpace(f.b))
	}
	plan, err := matchColumns(Pos{Path: path, Line: line}, cols, names, func(int) bool { return true }, "header")
	if err != nil {
		return nil, err
	}
	c.setPlan(plan, names)
	return c, nil
}

func (c *csvReader) setPlan(plan [][]int, names []string) {
	c.plan = plan
	c.srcName = names
	c.nfields = len(names)
	c.wide = make([]bool, len(plan))
	for i, p := range plan {
		// A vector matched by its own name is one cell; otherwise spread.
		c.wide[i] = c.cols[i].Type.Kind == types.Vector && (len(p) > 1 || !strings.EqualFold(names[p[0]], c.cols[i].Name))
	}
}

// positional builds the plan of a headerless file from its first record:
// one field per column, or each VECTOR(n) column spread over n fields.
func (c *csvReader) positional(nf int, line int64) error {
	narrow, wide := len(c.cols), 0
	for _, col := range c.cols {
		if col.Type.Kind == types.Vector {
			wide += col.Type.Dim
		} else {
			wide++
		}
	}
	plan := make([][]int, len(c.cols))
	var names []string
	switch nf {
	case narrow:
		for i, col := range c.cols {
			plan[i] = []int{i}
			names = append(names, col.Name)
		}
	case wide:
		for i, col := range c.cols {
			n := 1
			if col.Type.Kind == types.Vector {
				n = col.Type.Dim
			}
			for range n {
				plan[i] = append(plan[i], len(names))
				names = append(names, col.Name)
			}
		}
	default:
		msg := fmt.Sprintf("line has %d fields; expected %d (one per column)", nf, narrow)
		if wide != narrow {
			msg += fmt.Sprintf(" or %d (VECTOR columns spread over one field per element)", wide)
		}
		_, hint := c.unquotedHint()
		return &Error{Pos: Pos{Path: c.t.path, Line: line}, Msg: msg + hint}
	}
	c.setPlan(plan, names)
	if nf == wide && wide != narrow {
		for i, col := range c.cols {
			c.wide[i] = col.Type.Kind == types.Vector
		}
	}
	return nil
}

// record returns the next record without its line ending, and its first
// line. The slice is valid until the next call.
func (c *csvReader) record() ([]byte, int64, error) {
	t := c.t
	scan := t.r
	quotes := 0
	multi := false
	for {
		i := bytes.IndexByte(t.buf[scan:t.w], '\n')
		if i >= 0 {
			end := scan + i
			quotes += bytes.Count(t.buf[scan:end], []byte{'"'})
			if quotes%2 == 1 { // the newline is inside a quoted field
				scan = end + 1
				multi = true
				continue
			}
			rec := t.buf[t.r:end]
			t.r = end + 1
			return c.finish(rec, multi)
		}
		quotes += bytes.Count(t.buf[scan:t.w], []byte{'"'})
		scan = t.w
		if t.eof {
			if t.r == t.w {
				return nil, c.line, io.EOF
			}
			rec := t.buf[t.r:t.w]
			t.r = t.w
			return c.finish(rec, multi)
		}
		shift, err := t.more(c.line)
		if err != nil {
			return nil, c.line, err
		}
		scan -= shift
	}
}

func (c *csvReader) finish(rec []byte, multi bool) ([]byte, int64, error) {
	line := c.line
	if len(rec) >= maxRecord { // in a block of the parallel reader
		return nil, line, tooLong(c.t.path, line)
	}
	c.line++
	if multi {
		c.line += int64(bytes.Count(rec, []byte{'\n'}))
	}
	if n := len(rec); n > 0 && rec[n-1] == '\r' {
		rec = rec[:n-1]
	}
	if line == 1 {
		rec = bytes.TrimPrefix(rec, []byte("\xef\xbb\xbf")) // a BOM from spreadsheet exports
	}
	return rec, line, nil
}

// split cuts rec into c.fields, unescaping quoted fields in place.
func (c *csvReader) split(rec []byte, line int64) error {
	c.fields = c.fields[:0]
	d := c.delim
	i := 0
	for {
		// Spaces before an opening quote are allowed: `1, "[1, 2]"`.
		j := i
		for j < len(rec) && rec[j] == ' ' {
			j++
		}
		if j < len(rec) && rec[j] == '"' {
			start := j + 1
			out, k := start, start
			for {
				q := bytes.IndexByte(rec[k:], '"')
				if q < 0 {
					return c.fieldErr(line, len(c.fields), "unterminated quoted field (a '\"' is never closed)")
				}
				if out != k { // only after a "" escape
					copy(rec[out:], rec[k:k+q])
				}
				out += q
				k += q + 1
				if k < len(rec) && rec[k] == '"' {
					rec[out] = '"'
					out++
					k++
					continue
				}
				break
			}
			c.fields = append(c.fields, csvField{rec[start:out], true})
			for k < len(rec) && rec[k] == ' ' {
				k++
			}
			if k == len(rec) {
				return nil
			}
			if rec[k] != d {
				return c.fieldErr(line, len(c.fields)-1, fmt.Sprintf("unexpected %q after the closing quote of a quoted field", rec[k]))
			}
			i = k + 1
			continue
		}
		k := bytes.IndexByte(rec[i:], d)
		f := rec[i:]
		if k >= 0 {
			f = rec[i : i+k]
		}
		if bytes.IndexByte(f, '"') >= 0 {
			return c.fieldErr(line, len(c.fields), fmt.Sprintf("stray '\"' in unquoted field %s; quote the field and double the quote (\"\")", quote(f)))
		}
		c.fields = append(c.fields, csvField{f, false})
		if k < 0 {
			return nil
		}
		i += k + 1
	}
}

func (c *csvReader) fieldErr(line int64, field int, msg string) error {
	col := ""
	if field < len(c.srcName) {
		col = c.srcName[field]
	}
	return &Error{Pos: Pos{Path: c.t.path, Line: line}, Column: col, Msg: msg}
}

// unquotedHint explains a field count gone wrong by an unquoted vector;
// col is the column where that vector starts.
func (c *csvReader) unquotedHint() (col, hint string) {
	for j, f := range c.fields {
		if b := trimSpace(f.b); !f.quoted && len(b) > 0 && b[0] == '[' && b[len(b)-1] != ']' {
			if j < len(c.srcName) {
				col = c.srcName[j]
			}
			return col, fmt.Sprintf("; the unquoted vector cell starting %s was split at its commas: quote vector cells, e.g. \"[1, 2, 3]\"", quote(b))
		}
	}
	return "", ""
}

// worker returns a reader of blocks of the same file for a worker of
// the parallel reader: it shares c's columns, which must be known.
func (c *csvReader) worker() blockParser {
	return &csvReader{t: &textSource{path: c.t.path}, cols: c.cols, delim: c.delim, header: c.header,
		plan: c.plan, wide: c.wide, srcName: c.srcName, nfields: c.nfields}
}

func (c *csvReader) resetBlock(data []byte, line int64) {
	c.t.resetBlock(data)
	c.line = line
}

func (c *csvReader) Rows() int64 { return -1 }
func (c *csvReader) Pos() Pos    { return c.pos }
func (c *csvReader) Close() error {
	return c.t.close()
}

func (c *csvReader) Next(dst []types.Value) error {
	if len(dst) != len(c.cols) {
		panic(fmt.Sprintf("formats: Next got %d slots for %d columns", len(dst), len(c.cols)))
	}
	var rec []byte
	var line int64
	for {
		var err error
		rec, line, err = c.record()
		if err != nil {
			return err
		}
		// An empty line is a NULL in a one-column file and skipped otherwise.
		if len(rec) > 0 || len(c.cols) == 1 && c.nfields == 1 {
			break
		}
	}
	c.pos = Pos{Path: c.t.path, Line: line}
	if err := c.split(rec, line); err != nil {
		return err
	}
	if c.plan == nil {
		if err := c.positional(len(c.fields), line); err != nil {
			return err
		}
	}
	if len(c.fields) != c.nfields {
		col, hint := c.unquotedHint()
		if hint != "" {
			return &Error{Pos: c.pos, Column: col, Msg: fmt.Sprintf("line has %d fields, expected %d%s", len(c.fields), c.nfields, hint)}
		}
		if len(c.fields) < c.nfields {
			return &Error{Pos: c.pos, Column: c.srcName[len(c.fields)],
				Msg: fmt.Sprintf("missing: line has %d fields, expected %d", len(c.fields), c.nfields)}
		}
		return &Error{Pos: c.pos, Msg: fmt.Sprintf("extra fields: line has %d fields, expected %d", len(c.fields), c.nfields)}
	}
	for i, col := range c.cols {
		src := c.plan[i]
		if c.wide[i] {
			v, err := c.spread(col, src)
			if err != nil {
				return err
			}
			dst[i] = v
			continue
		}
		f := c.fields[src[0]]
		v, msg := c.cell(col, f)
		if msg != "" {
			return &Error{Pos: c.pos, Column: col.Name, Msg: msg}
		}
		dst[i] = v
	}
	return nil
}

// cell converts one field; msg is the reason it was rejected.
func (c *csvReader) cell(col Column, f csvField) (types.Value, string) {
	if col.Type.Kind == types.Text {
		if len(f.b) == 0 && !f.quoted {
			return types.Value{}, ""
		}
		v, err := textValue(f.b)
		if err != nil {
			return v, err.Error()
		}
		return v, ""
	}
	b := trimSpace(f.b)
	if len(b) == 0 {
		return types.Value{}, ""
	}
	switch col.Type.Kind {
	case types.Int:
		i, err := parseInt(b)
		if err != nil {
			return types.Value{}, err.Error()
		}
		return types.IntValue(i), ""
	case types.Float:
		x, err := parseF64(b)
		if err != nil {
			return types.Value{}, err.Error()
		}
		return types.FloatValue(x), ""
	}
	v, msg := parseVectorText(&c.arena, b, col.Type.Dim)
	if msg != "" && !f.quoted && c.delim == ',' && b[0] == '[' && b[len(b)-1] != ']' {
		msg += "; vector cells hold commas, so quote them: \"[1, 2, 3]\""
	}
	return types.VectorValue(v), msg
}

// spread reads a VECTOR column from one numeric field per element. All
// fields empty is NULL.
func (c *csvReader) spread(col Column, src []int) (types.Value, error) {
	empty := 0
	for _, j := range src {
		if len(trimSpace(c.fields[j].b)) == 0 {
			empty++
		}
	}
	if empty == len(src) {
		return types.Value{}, nil
	}
	v := c.arena.alloc(len(src))
	for k, j := range src {
		x, err := parseF32(trimSpace(c.fields[j].b))
		if err != nil {
			if c.header {
				return types.Value{}, &Error{Pos: c.pos, Column: c.srcName[j], Msg: fmt.Sprintf("%v (element %d of %q)", err, k+1, col.Name)}
			}
			return types.Value{}, &Error{Pos: c.pos, Column: col.Name, Msg: elemErr(k, err)}
		}
		v[k] = x
	}
	return types.VectorValue(v), nil
}

// parseVectorText reads the pgvector text form "[1, 2.5, -3e-2]" with
// exactly dim elements into the arena; msg is the reason it was rejected.
func parseVectorText(a *arena, b []byte, dim int) ([]float32, string) {
	t := trimSpace(b)
	if len(t) == 0 || t[0] != '[' {
		return nil, fmt.Sprintf("malformed vector %s: must start with \"[\"", quote(b))
	}
	if t[len(t)-1] != ']' {
		return nil, fmt.Sprintf("malformed vector %s: must end with \"]\"", quote(b))
	}
	body := t[1 : len(t)-1]
	if len(trimSpace(body)) == 0 {
		return nil, "vector must have at least 1 dimension"
	}
	v := a.alloc(dim)
	if textVectorFast(v, t) {
		return v, ""
	}
	if msg := textVectorElems(v, body); msg != "" {
		return nil, msg
	}
	return v, ""
}

// textVectorElems reads body, the text between a vector's brackets,
// element by element into v, naming what is wrong with it.
func textVectorElems(v []float32, body []byte) string {
	if n := bytes.Count(body, []byte{','}) + 1; n != len(v) {
		return fmt.Sprintf("vector has %d dimensions, expected %d", n, len(v))
	}
	for k := range v {
		el := body
		if j := bytes.IndexByte(body, ','); j >= 0 {
			el, body = body[:j], body[j+1:]
		}
		x, err := parseF32(trimSpace(el))
		if err != nil {
			return elemErr(k, err)
		}
		v[k] = x
	}
	return ""
}

// csvWriter writes a header line (unless HEADER false) and one line per
// row: NULL as an empty field, empty TEXT as "", vectors in the pgvector
// text form, quoted when they hold the delimiter.
type csvWriter struct {
	out   *outFile
	cols  []Column
	delim byte
	line  int64
	buf   []byte
}

func newCSVWriter(out *outFile, cols []Column, o Options) (*csvWriter, error) {
	w := &csvWriter{out: out, cols: cols, delim: o.delimiter()}
	if o.header() {
		for i, c := range cols {
			if i > 0 {
				w.buf = append(w.buf, w.delim)
			}
			w.buf = w.appendText(w.buf, c.Name)
		}
		w.buf = append(w.buf, '\n')
		w.line++
		if err := out.write(w.buf); err != nil {
			return nil, err
		}
	}
	return w, nil
}

func (w *csvWriter) Write(row []types.Value) error {
	w.line++
	if err := checkRow(w.out.path, true, w.line, w.cols, row); err != nil {
		return err
	}
	b := w.buf[:0]
	for i, v := range row {
		if i > 0 {
			b = append(b, w.delim)
		}
		switch v.K {
		case types.Null:
		case types.Int:
			if w.cols[i].Type.Kind == types.Float {
				b = strconv.AppendFloat(b, float64(v.I), 'g', -1, 64)
			} else {
				b = strconv.AppendInt(b, v.I, 10)
			}
		case types.Float:
			if w.cols[i].Type.Kind == types.Int {
				b = strconv.AppendInt(b, int64(v.F), 10)
			} else {
				b = strconv.AppendFloat(b, v.F, 'g', -1, 64)
			}
		case types.Text:
			if v.S == "" {
				b = append(b, '"', '"')
			} else {
				b = w.appendText(b, v.S)
			}
		case types.Vector:
			q := w.delim == ',' && len(v.V) > 1
			if q {
				b = append(b, '"')
			}
			b = appendVector(b, v.V)
			if q {
				b = append(b, '"')
			}
		}
	}
	b = append(b, '\n')
	w.buf = b
	return w.out.write(b)
}

func (w *csvWriter) appendText(b []byte, s string) []byte {
	need := false
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == w.delim || c == '"' || c == '\n' || c == '\r' {
			need = true
			break
		}
	}
	if !need {
		return append(b, s...)
	}
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			b = append(b, '"')
		}
		b = append(b, s[i])
	}
	return append(b, '"')
}

// appendVector appends v in the pgvector text form, as types.FormatVector.
func appendVector(b []byte, v []float32) []byte {
	b = append(b, '[')
	for i, x := range v {
		if i > 0 {
			b = append(b, ',', ' ')
		}
		b = strconv.AppendFloat(b, float64(x), 'g', -1, 32)
	}
	return append(b, ']')
}

func (w *csvWriter) Close() error { return w.out.commit() }
func (w *csvWriter) Abort() error { return w.out.abort() }
