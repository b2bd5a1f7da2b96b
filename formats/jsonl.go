package formats

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/softdb/softdb/types"
)

// jsonlReader reads one JSON object per line with a small hand-written
// scanner (encoding/json would allocate per value). Keys name columns,
// ignoring case; every column must be present (null for NULL); an unknown
// or repeated key is an error. Blank lines are skipped.
type jsonlReader struct {
	t     *textSource
	cols  []Column
	names [][]byte
	line  int64
	pos   Pos
	seen  []bool
	arena arena
	str   []byte // unescaped string scratch

	b []byte // the line being parsed
	i int    // parse offset in b
}

func newJSONLReader(src io.ReadCloser, size int64, path string, cols []Column) (*jsonlReader, error) {
	r := &jsonlReader{t: newTextSource(src, size, path), cols: cols, line: 1, seen: make([]bool, len(cols))}
	for _, c := range cols {
		r.names = append(r.names, []byte(c.Name))
	}
	return r, nil
}

func (r *jsonlReader) Rows() int64  { return -1 }
func (r *jsonlReader) Pos() Pos     { return r.pos }
func (r *jsonlReader) Close() error { return r.t.close() }

// nextLine returns the next line without its line ending.
func (r *jsonlReader) nextLine() ([]byte, int64, error) {
	t := r.t
	scan := t.r
	for {
		if i := bytes.IndexByte(t.buf[scan:t.w], '\n'); i >= 0 {
			rec := t.buf[t.r : scan+i]
			t.r = scan + i + 1
			return r.finish(rec)
		}
		scan = t.w
		if t.eof {
			if t.r == t.w {
				return nil, r.line, io.EOF
			}
			rec := t.buf[t.r:t.w]
			t.r = t.w
			return r.finish(rec)
		}
		shift, err := t.more(r.line)
		if err != nil {
			return nil, r.line, err
		}
		scan -= shift
	}
}

func (r *jsonlReader) finish(rec []byte) ([]byte, int64, error) {
	line := r.line
	r.line++
	if len(rec) >= maxRecord { // in a block of the parallel reader
		return nil, line, tooLong(r.t.path, line)
	}
	return rec, line, nil
}

// worker returns a reader of blocks of the same file for a worker of
// the parallel reader.
func (r *jsonlReader) worker() blockParser {
	return &jsonlReader{t: &textSource{path: r.t.path}, cols: r.cols, names: r.names, seen: make([]bool, len(r.cols))}
}

func (r *jsonlReader) resetBlock(data []byte, line int64) {
	r.t.resetBlock(data)
	r.line = line
}

func (r *jsonlReader) Next(dst []types.Value) error {
	if len(dst) != len(r.cols) {
		panic(fmt.Sprintf("formats: Next got %d slots for %d columns", len(dst), len(r.cols)))
	}
	for {
		b, line, err := r.nextLine()
		if err != nil {
			return err
		}
		r.b, r.i = b, 0
		r.ws()
		if r.i == len(b) {
			continue // blank line
		}
		r.pos = Pos{Path: r.t.path, Line: line}
		return r.object(dst)
	}
}

// at is the byte at i, or 0 past the end of the line.
func (r *jsonlReader) at(i int) byte {
	if i < len(r.b) {
		return r.b[i]
	}
	return 0
}

func (r *jsonlReader) ws() {
	for r.i < len(r.b) {
		switch r.b[r.i] {
		case ' ', '\t', '\r', '\n':
			r.i++
		default:
			return
		}
	}
}

// syntax reports malformed JSON at the current offset.
func (r *jsonlReader) syntax(col, what string) error {
	at := "end of line"
	if r.i < len(r.b) {
		at = fmt.Sprintf("%q at byte %d", r.b[r.i], r.i+1)
	}
	return &Error{Pos: r.pos, Column: col, Msg: fmt.Sprintf("malformed JSON: expected %s, found %s", what, at)}
}

func (r *jsonlReader) object(dst []types.Value) error {
	if r.b[r.i] != '{' {
		return r.syntax("", "an object '{' (one JSON object per line)")
	}
	r.i++
	clear(r.seen)
	r.ws()
	if r.i < len(r.b) && r.b[r.i] == '}' {
		r.i++
	} else {
		for {
			r.ws()
			if r.i >= len(r.b) || r.b[r.i] != '"' {
				return r.syntax("", "a key string")
			}
			key, err := r.string("")
			if err != nil {
				return err
			}
			ci := -1
			for k, n := range r.names {
				if bytes.EqualFold(n, key) {
					ci = k
					break
				}
			}
			if ci < 0 {
				return &Error{Pos: r.pos, Column: string(key), Msg: "unknown key: the columns being loaded are " + listCols(r.cols)}
			}
			col := r.cols[ci]
			if r.seen[ci] {
				return &Error{Pos: r.pos, Column: col.Name, Msg: "key given twice"}
			}
			r.seen[ci] = true
			r.ws()
			if r.i >= len(r.b) || r.b[r.i] != ':' {
				return r.syntax(col.Name, "':' after the key")
			}
			r.i++
			r.ws()
			v, err := r.value(col)
			if err != nil {
				return err
			}
			dst[ci] = v
			r.ws()
			if r.i < len(r.b) && r.b[r.i] == ',' {
				r.i++
				continue
			}
			if r.i < len(r.b) && r.b[r.i] == '}' {
				r.i++
				break
			}
			return r.syntax("", "',' or '}'")
		}
	}
	r.ws()
	if r.i != len(r.b) {
		return r.syntax("", "the end of the line after the object")
	}
	for k, ok := range r.seen {
		if !ok {
			return &Error{Pos: r.pos, Column: r.cols[k].Name, Msg: "key is missing (write null for NULL)"}
		}
	}
	return nil
}

// value reads the JSON value for col.
func (r *jsonlReader) value(col Column) (types.Value, error) {
	if r.i >= len(r.b) {
		return types.Value{}, r.syntax(col.Name, "a value")
	}
	bad := func(msg string) (types.Value, error) {
		return types.Value{}, &Error{Pos: r.pos, Column: col.Name, Msg: msg}
	}
	switch c := r.b[r.i]; {
	case c == 'n':
		if err := r.literal(col.Name, "null"); err != nil {
			return types.Value{}, err
		}
		return types.Value{}, nil
	case c == 't' || c == 'f':
		return bad(fmt.Sprintf("expected %s, got a boolean", want(col.Type)))
	case c == '{':
		return bad(fmt.Sprintf("expected %s, got an object", want(col.Type)))
	case c == '"':
		s, err := r.string(col.Name)
		if err != nil {
			return types.Value{}, err
		}
		switch col.Type.Kind {
		case types.Text:
			v, err := textValue(s)
			if err != nil {
				return bad(err.Error())
			}
			return v, nil
		case types.Vector: // the pgvector text form is accepted too
			v, msg := parseVectorText(&r.arena, s, col.Type.Dim)
			if msg != "" {
				return bad(msg)
			}
			return types.VectorValue(v), nil
		}
		return bad(fmt.Sprintf("expected %s, got the string %s", want(col.Type), quote(s)))
	case c == '[':
		if col.Type.Kind != types.Vector {
			return bad(fmt.Sprintf("expected %s, got an array", want(col.Type)))
		}
		return r.vector(col)
	}
	num, err := r.number(col.Name)
	if err != nil {
		return types.Value{}, err
	}
	switch col.Type.Kind {
	case types.Int:
		i, err := parseInt(num)
		if err != nil {
			return bad(err.Error())
		}
		return types.IntValue(i), nil
	case types.Float:
		f, err := parseF64(num)
		if err != nil {
			return bad(err.Error())
		}
		return types.FloatValue(f), nil
	}
	return bad(fmt.Sprintf("expected %s, got the number %s", want(col.Type), num))
}

func want(t types.Type) string {
	switch t.Kind {
	case types.Int:
		return "an integer"
	case types.Float:
		return "a number"
	case types.Text:
		return "a string"
	}
	return "an array of numbers for " + t.String()
}

func (r *jsonlReader) literal(col, word string) error {
	if !bytes.HasPrefix(r.b[r.i:], []byte(word)) {
		return r.syntax(col, "a value")
	}
	r.i += len(word)
	return nil
}

// vector reads an array of numbers into a fresh arena slice.
func (r *jsonlReader) vector(col Column) (types.Value, error) {
	dim := col.Type.Dim
	r.i++ // '['
	v := r.arena.alloc(dim)
	if end, ok := jsonArrayFast(v, r.b, r.i); ok {
		r.i = end
		return types.VectorValue(v), nil
	}
	return r.vectorElems(col, v)
}

// vectorElems reads the array after its '[' element by element into v,
// naming what is wrong with it.
func (r *jsonlReader) vectorElems(col Column, v []float32) (types.Value, error) {
	dim := col.Type.Dim
	n := 0
	r.ws()
	if r.i < len(r.b) && r.b[r.i] == ']' {
		r.i++
		return types.Value{}, &Error{Pos: r.pos, Column: col.Name, Msg: "vector must have at least 1 dimension"}
	}
	for {
		r.ws()
		if r.i < len(r.b) && r.b[r.i] == 'n' {
			return types.Value{}, &Error{Pos: r.pos, Column: col.Name, Msg: fmt.Sprintf("element %d is null", n+1)}
		}
		if c := r.at(r.i); c == 'N' || c == 'I' || c == '-' && (r.at(r.i+1) == 'N' || r.at(r.i+1) == 'I') {
			rest := bytes.TrimPrefix(r.b[r.i:], []byte{'-'})
			if bytes.HasPrefix(rest, []byte("NaN")) {
				return types.Value{}, &Error{Pos: r.pos, Column: col.Name, Msg: elemErr(n, errVecNaN)}
			} else if bytes.HasPrefix(rest, []byte("Infinity")) {
				return types.Value{}, &Error{Pos: r.pos, Column: col.Name, Msg: elemErr(n, errVecInf)}
			}
		}
		if c := r.at(r.i); c == '"' || c == '[' || c == '{' || c == 't' || c == 'f' {
			return types.Value{}, &Error{Pos: r.pos, Column: col.Name, Msg: fmt.Sprintf("element %d is not a number", n+1)}
		}
		x, err := r.float32Elem(col.Name)
		if err != nil {
			if e, ok := err.(*Error); ok && e.Msg == "" {
				e.Msg = elemErr(n, e.Err)
			}
			return types.Value{}, err
		}
		if n < dim {
			v[n] = x
		}
		n++
		r.ws()
		if r.i < len(r.b) && r.b[r.i] == ',' {
			r.i++
			continue
		}
		if r.i < len(r.b) && r.b[r.i] == ']' {
			r.i++
			break
		}
		return types.Value{}, r.syntax(col.Name, "',' or ']' in the array")
	}
	if n != dim {
		return types.Value{}, &Error{Pos: r.pos, Column: col.Name, Msg: fmt.Sprintf("vector has %d dimensions, expected %d", n, dim)}
	}
	return types.VectorValue(v), nil
}

// float32Elem reads the JSON number at r.i as a vector element, scanning
// and converting in one pass (the common case never calls strconv). A bad
// value is an *Error with Err set and Msg empty, for the caller to number.
func (r *jsonlReader) float32Elem(col string) (float32, error) {
	b, i := r.b, r.i
	start := i
	neg := i < len(b) && b[i] == '-'
	if neg {
		i++
	}
	var d uint64
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i, d = digitRun(b, i, 0)
		i = skipDigits(b, i) // past digits left by an overflow
	default:
		return 0, r.syntax(col, "a value")
	}
	q := 0
	if i < len(b) && b[i] == '.' {
		j := i + 1
		i, d = digitRun(b, j, d)
		q = j - i
		if k := skipDigits(b, i); k == j {
			r.i = j
			return 0, r.syntax(col, "a digit after '.'")
		} else if k != i {
			i, d = k, math.MaxUint64
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		eneg := false
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			eneg = b[i] == '-'
			i++
		}
		e, j := 0, i
		for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
			if e < 10000 {
				e = e*10 + int(b[i]-'0')
			}
		}
		if i == j {
			r.i = i
			return 0, r.syntax(col, "a digit in the exponent")
		}
		if eneg {
			e = -e
		}
		q += e
	}
	r.i = i
	if d <= 1e18 {
		if x, ok := finishF32(d, q, neg); ok {
			return x, nil
		}
	}
	x, err := parseF32(b[start:i])
	if err != nil {
		return 0, &Error{Pos: r.pos, Column: col, Err: err}
	}
	return x, nil
}

// number scans a JSON number. NaN and Infinity, which Python's json module
// writes, get their own message.
func (r *jsonlReader) number(col string) ([]byte, error) {
	b, i := r.b, r.i
	start := i
	if i < len(b) && b[i] == '-' {
		i++
	}
	if i < len(b) && (b[i] == 'N' || b[i] == 'I') {
		if bytes.HasPrefix(b[i:], []byte("NaN")) {
			return nil, &Error{Pos: r.pos, Column: col, Msg: "NaN is not allowed"}
		}
		if bytes.HasPrefix(b[i:], []byte("Infinity")) {
			return nil, &Error{Pos: r.pos, Column: col, Msg: "infinite value is not allowed"}
		}
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = skipDigits(b, i)
	default:
		return nil, r.syntax(col, "a value")
	}
	if i < len(b) && b[i] == '.' {
		j := i + 1
		if i = skipDigits(b, j); i == j {
			r.i = i
			return nil, r.syntax(col, "a digit after '.'")
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := i
		if i = skipDigits(b, j); i == j {
			r.i = i
			return nil, r.syntax(col, "a digit in the exponent")
		}
	}
	r.i = i
	return b[start:i], nil
}

func skipDigits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}

// string reads a JSON string at r.i. Without escapes it is a slice of the
// line; with escapes it is decoded into r.str. Valid until the next call.
func (r *jsonlReader) string(col string) ([]byte, error) {
	b := r.b
	r.i++ // opening quote
	start := r.i
	for i := start; i < len(b); i++ {
		c := b[i]
		if c == '"' {
			r.i = i + 1
			return b[start:i], nil
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			r.i = i
			return nil, r.syntax(col, "no control character inside a string")
		}
	}
	s := r.str[:0]
	i := start
	for {
		if i >= len(b) {
			r.i = i
			return nil, r.syntax(col, "the closing '\"' of a string")
		}
		c := b[i]
		switch {
		case c == '"':
			r.i = i + 1
			r.str = s
			return s, nil
		case c < 0x20:
			r.i = i
			return nil, r.syntax(col, "no control character inside a string")
		case c != '\\':
			s = append(s, c)
			i++
			continue
		}
		if i+1 >= len(b) {
			r.i = i + 1
			return nil, r.syntax(col, "an escape after '\\'")
		}
		e := b[i+1]
		i += 2
		switch e {
		case '"', '\\', '/':
			s = append(s, e)
		case 'b':
			s = append(s, '\b')
		case 'f':
			s = append(s, '\f')
		case 'n':
			s = append(s, '\n')
		case 'r':
			s = append(s, '\r')
		case 't':
			s = append(s, '\t')
		case 'u':
			r1, ok := hex4(b, i)
			if !ok {
				r.i = i
				return nil, r.syntax(col, "four hex digits after \\u")
			}
			i += 4
			if utf16.IsSurrogate(r1) {
				if r2, ok := hex4(b, i+2); ok && i+1 < len(b) && b[i] == '\\' && b[i+1] == 'u' {
					if d := utf16.DecodeRune(r1, r2); d != utf8.RuneError {
						i += 6
						r1 = d
					} else {
						r1 = utf8.RuneError
					}
				} else {
					r1 = utf8.RuneError
				}
			}
			s = utf8.AppendRune(s, r1)
		default:
			r.i = i - 1
			return nil, r.syntax(col, "a valid escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)")
		}
	}
}

func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	v, err := strconv.ParseUint(bstr(b[i:i+4]), 16, 32)
	return rune(v), err == nil
}

// jsonlWriter writes {"col": value, …} per row: vectors as arrays, NULL as
// null, floats in their shortest round-trip form.
type jsonlWriter struct {
	out  *outFile
	cols []Column
	keys [][]byte // `"name":` pre-encoded
	n    int64
	buf  []byte
}

func newJSONLWriter(out *outFile, cols []Column) (*jsonlWriter, error) {
	w := &jsonlWriter{out: out, cols: cols}
	for _, c := range cols {
		k := appendJSONString(nil, c.Name)
		w.keys = append(w.keys, append(k, ':'))
	}
	return w, nil
}

func (w *jsonlWriter) Write(row []types.Value) error {
	w.n++
	if err := checkRow(w.out.path, true, w.n, w.cols, row); err != nil {
		return err
	}
	b := append(w.buf[:0], '{')
	for i, v := range row {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, w.keys[i]...)
		switch v.K {
		case types.Null:
			b = append(b, "null"...)
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
			b = appendJSONString(b, v.S)
		case types.Vector:
			b = append(b, '[')
			for k, x := range v.V {
				if k > 0 {
					b = append(b, ',')
				}
				b = strconv.AppendFloat(b, float64(x), 'g', -1, 32)
			}
			b = append(b, ']')
		}
	}
	b = append(b, '}', '\n')
	w.buf = b
	return w.out.write(b)
}

func (w *jsonlWriter) Close() error { return w.out.commit() }
func (w *jsonlWriter) Abort() error { return w.out.abort() }

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&15])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
