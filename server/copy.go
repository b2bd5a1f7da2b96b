package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/softdb/softdb/query"
)

// copyCommand is COPY … FROM STDIN or TO STDOUT: the client's data,
// psql's \copy.
type copyCommand struct {
	table   string   // "" for COPY (SELECT …) TO STDOUT
	columns []string // nil: all the table's columns
	query   string   // the SELECT of COPY (SELECT …) TO STDOUT
	in      bool     // FROM STDIN
	csv     bool     // FORMAT csv; else text
	binary  bool     // FORMAT binary (FROM STDIN only): pgx's CopyFrom
	header  bool
	delim   byte
	null    string
}

var (
	reCopyHead = regexp.MustCompile(`(?is)^copy\s+("(?:[^"]|"")+"|[a-z_][a-z0-9_]*)\s*(\(([^)]*)\))?\s*(from\s+stdin|to\s+stdout)\b(.*)$`)
	reCopyQry  = regexp.MustCompile(`(?is)^copy\s*\((.*)\)\s*to\s+stdout\b(.*)$`)
	reCopyOpt  = regexp.MustCompile(`(?is)^\s*([a-z_]+)(\s+(as\s+)?('(?:[^']|'')*'|[a-z0-9_]+))?\s*`)
)

// parseCopyIO reads COPY t [(cols)] FROM STDIN | TO STDOUT [[WITH] options]
// and COPY (SELECT …) TO STDOUT, with the options in the parenthesized
// form (FORMAT csv, HEADER, DELIMITER 'x', NULL 'x') or PostgreSQL's older
// form (CSV HEADER DELIMITER 'x' NULL 'x').
func parseCopyIO(t string) (*copyCommand, error) {
	cmd := &copyCommand{delim: '\t', null: `\N`}
	var opts string
	if m := reCopyHead.FindStringSubmatch(t); m != nil {
		cmd.table = unquoteIdent(m[1])
		if m[2] != "" {
			for _, c := range strings.Split(m[3], ",") {
				if c = strings.TrimSpace(c); c != "" {
					cmd.columns = append(cmd.columns, unquoteIdent(c))
				}
			}
		}
		cmd.in = strings.HasPrefix(strings.ToLower(m[4]), "from")
		opts = m[5]
	} else if m := reCopyQry.FindStringSubmatch(t); m != nil {
		cmd.query, opts = m[1], m[2]
	} else {
		return nil, &pgError{code: "42601", msg: "COPY with STDIN or STDOUT must read COPY table [(columns)] FROM STDIN or COPY table|(SELECT …) TO STDOUT, followed by its options"}
	}
	opts = strings.TrimSpace(opts)
	if len(opts) >= 4 && strings.EqualFold(opts[:4], "with") {
		opts = strings.TrimSpace(opts[4:])
	}
	opts = strings.TrimSuffix(strings.TrimPrefix(opts, "("), ")")
	delimSet, nullSet := false, false
	for rest := strings.TrimSpace(opts); rest != ""; {
		m := reCopyOpt.FindStringSubmatch(rest)
		if m == nil {
			return nil, &pgError{code: "42601", msg: fmt.Sprintf("COPY: cannot read the options at %q", clip(rest))}
		}
		rest = strings.TrimPrefix(strings.TrimSpace(rest[len(m[0]):]), ",")
		rest = strings.TrimSpace(rest)
		name, val := strings.ToLower(m[1]), m[4]
		if len(val) >= 2 && val[0] == '\'' {
			val = strings.ReplaceAll(val[1:len(val)-1], "''", "'")
		}
		switch name {
		case "format":
			switch strings.ToLower(val) {
			case "csv":
				cmd.csv = true
			case "text":
			case "binary":
				cmd.binary = true
			default:
				return nil, &pgError{code: "0A000", msg: fmt.Sprintf("COPY FORMAT %s is not supported with STDIN/STDOUT (use csv, text or binary)", val)}
			}
		case "csv":
			cmd.csv = true
			if val != "" {
				// CSV HEADER in the older form: the word after CSV.
				if strings.EqualFold(val, "header") {
					cmd.header = true
				} else {
					return nil, &pgError{code: "42601", msg: fmt.Sprintf("COPY: unexpected %q after CSV", val)}
				}
			}
		case "header":
			b, ok := true, true
			if val != "" {
				b, ok = parseBool(val)
			}
			if !ok {
				return nil, &pgError{code: "22023", msg: fmt.Sprintf("COPY HEADER must be true or false, not %q", val)}
			}
			cmd.header = b
		case "delimiter":
			if len(val) != 1 {
				return nil, &pgError{code: "22023", msg: fmt.Sprintf("COPY DELIMITER must be a single one-byte character, not %q", val)}
			}
			cmd.delim, delimSet = val[0], true
		case "null":
			cmd.null, nullSet = val, true
		case "binary":
			// BINARY in the older form (pgx's CopyFrom sends it).
			cmd.binary = true
		case "encoding":
			if !strings.EqualFold(strings.ReplaceAll(val, "-", ""), "utf8") {
				return nil, &pgError{code: "0A000", msg: fmt.Sprintf("COPY ENCODING %s is not supported: softdb speaks UTF8 only", val)}
			}
		case "quote", "escape":
			if val != `"` {
				return nil, &pgError{code: "0A000", msg: fmt.Sprintf("COPY %s other than '\"' is not supported", strings.ToUpper(name))}
			}
		default:
			return nil, &pgError{code: "42601", msg: fmt.Sprintf("COPY option %q is not supported (FORMAT, HEADER, DELIMITER, NULL)", m[1])}
		}
	}
	if cmd.binary {
		switch {
		case !cmd.in:
			return nil, &pgError{code: "0A000", msg: "COPY … TO STDOUT in binary format is not supported (use csv or text)"}
		case cmd.csv || cmd.header || delimSet || nullSet:
			return nil, &pgError{code: "42601", msg: "COPY in binary format takes no CSV, HEADER, DELIMITER or NULL option"}
		}
	}
	if cmd.csv {
		if !delimSet {
			cmd.delim = ','
		}
		if !nullSet {
			cmd.null = ""
		}
		if cmd.null != "" {
			return nil, &pgError{code: "0A000", msg: "COPY … CSV with a NULL string other than the empty one is not supported"}
		}
	}
	return cmd, nil
}

func unquoteIdent(s string) string {
	if len(s) >= 2 && s[0] == '"' {
		return strings.ReplaceAll(s[1:len(s)-1], `""`, `"`)
	}
	return s
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// copyIO runs COPY … FROM STDIN or TO STDOUT and sends its
// CommandComplete.
func (c *conn) copyIO(cmd *copyCommand) error {
	ctx, done := c.statementContext()
	defer done()
	if cmd.in {
		return c.copyIn(ctx, cmd)
	}
	return c.copyOut(ctx, cmd)
}

// targetColumns are the columns COPY names, or the table's without its
// generated ones, with their kinds (INT, FLOAT, TEXT, VECTOR), as softdb
// describes the same COPY to a file ("" for a name the table lacks:
// softdb's COPY then names it).
func (c *conn) targetColumns(ctx context.Context, cmd *copyCommand) (cols, kinds []string, err error) {
	// Built without positions: an error (no such table) is the COPY's,
	// not a place in a statement the client did not write. The columns
	// are described from the whole table, so that a name the list gets
	// wrong is reported by the COPY that runs.
	d, err := c.db.Describe(ctx, &query.Copy{Table: query.Ident{Name: cmd.table}, To: !cmd.in})
	if err != nil {
		return nil, nil, err
	}
	kindOf := make(map[string]string, len(d.Columns))
	for _, col := range d.Columns {
		kindOf[strings.ToLower(col.Name)] = col.Kind
		if cmd.columns == nil {
			cols = append(cols, col.Name)
		}
	}
	if cmd.columns != nil {
		cols = cmd.columns
	}
	for _, n := range cols {
		kinds = append(kinds, kindOf[strings.ToLower(n)])
	}
	return cols, kinds, nil
}

// copyIn receives the client's rows, rewrites them as a csv file with a
// header naming the columns, and loads it with softdb's COPY, so the load
// is atomic and checked as any COPY is.
func (c *conn) copyIn(ctx context.Context, cmd *copyCommand) error {
	cols, kinds, err := c.targetColumns(ctx, cmd)
	if err != nil {
		return err
	}
	raw, err := os.CreateTemp("", "softdb-copy-*.in")
	if err != nil {
		return err
	}
	defer os.Remove(raw.Name())
	defer raw.Close()
	format, colFormats := byte(0), make([]uint16, len(cols))
	if cmd.binary {
		format = 1
		for i := range colFormats {
			colFormats[i] = 1
		}
	}
	c.be.Send(&pgproto3.CopyInResponse{OverallFormat: format, ColumnFormatCodes: colFormats})
	if err := c.flush(); err != nil {
		return err
	}
	w := bufio.NewWriterSize(raw, 1<<20)
	var failed error
recv:
	for {
		c.rd.idle(time.Now().Add(c.srv.cfg.StallTimeout))
		msg, err := c.be.Receive()
		if err != nil {
			return err
		}
		switch m := msg.(type) {
		case *pgproto3.CopyData:
			if failed == nil {
				if _, err := w.Write(m.Data); err != nil {
					failed = err
				}
			}
		case *pgproto3.CopyDone:
			break recv
		case *pgproto3.CopyFail:
			return &pgError{code: "57014", msg: "COPY from stdin failed: " + m.Message}
		case *pgproto3.Flush, *pgproto3.Sync:
		default:
			return &pgError{code: "08P01", msg: fmt.Sprintf("unexpected message %T during COPY from stdin", msg)}
		}
	}
	_ = c.nc.SetReadDeadline(time.Time{})
	if failed == nil {
		failed = w.Flush()
	}
	if failed != nil {
		return failed
	}
	if _, err := raw.Seek(0, io.SeekStart); err != nil {
		return err
	}
	conv, err := os.CreateTemp("", "softdb-copy-*.csv")
	if err != nil {
		return err
	}
	defer os.Remove(conv.Name())
	defer conv.Close()
	if cmd.binary {
		err = convertBinaryToCSV(bufio.NewReaderSize(raw, 1<<20), conv, cols, kinds, cmd.table)
	} else {
		err = convertToCSV(bufio.NewReaderSize(raw, 1<<20), conv, cols, cmd)
	}
	if err != nil {
		return err
	}
	if err := conv.Close(); err != nil {
		return err
	}
	st := &query.Copy{Table: query.Ident{Name: cmd.table}, Paths: []query.StringLit{{Value: conv.Name()}},
		Options: []query.CopyOption{{Name: "FORMAT", Value: "csv"}}}
	if cmd.csv && cmd.delim != ',' {
		st.Options = append(st.Options, query.CopyOption{Name: "DELIMITER", Value: string(cmd.delim)})
	}
	if !cmd.header {
		st.Options = append(st.Options, query.CopyOption{Name: "HEADER", Value: "false"})
	}
	for _, n := range cols {
		st.Columns = append(st.Columns, query.Ident{Name: n})
	}
	if err := c.beginIfWrite(ctx, st); err != nil {
		return err
	}
	res, err := c.db.Run(ctx, st)
	if err != nil {
		return fmt.Errorf("COPY %s FROM STDIN: %w", cmd.table, stripTempName(err, conv.Name()))
	}
	c.be.Send(&pgproto3.CommandComplete{CommandTag: []byte(fmt.Sprintf("COPY %d", res.Result.RowsAffected))})
	return nil
}

// stripTempName names the data "STDIN" instead of the temporary file in
// an error.
func stripTempName(err error, name string) error {
	msg := err.Error()
	if !strings.Contains(msg, name) {
		return err
	}
	return &wrapped{msg: strings.ReplaceAll(msg, name, "STDIN"), err: err}
}

type wrapped struct {
	msg string
	err error
}

func (w *wrapped) Error() string { return w.msg }
func (w *wrapped) Unwrap() error { return w.err }

// convertToCSV writes the client's data as a csv file, with a header line
// of the column names where the client sent a header line.
func convertToCSV(r *bufio.Reader, out io.Writer, cols []string, cmd *copyCommand) error {
	bw := bufio.NewWriterSize(out, 1<<20)
	cw := csv.NewWriter(bw)
	if cmd.csv {
		cw.Comma = rune(cmd.delim)
	}
	if cmd.header {
		// The client's header line is replaced by one naming the
		// columns, so that line numbers in errors stay the client's.
		if err := cw.Write(cols); err != nil {
			return err
		}
		cw.Flush()
	}
	line := 0
	if cmd.csv {
		// softdb's csv is PostgreSQL's (an unquoted empty field is NULL,
		// "" the empty string), so the data go through as they are,
		// after the client's header line if it sent one.
		if cmd.header {
			if err := skipCSVRecord(r); err != nil {
				return err
			}
		}
		if err := copyLines(bw, r); err != nil {
			return err
		}
		return bw.Flush()
	}
	// text format: one line per row, fields split by the delimiter,
	// backslash escapes, \N for NULL.
	var fieldsBuf []string
	var nulls []bool
	for {
		l, err := r.ReadString('\n')
		if l == "" && err != nil {
			break
		}
		line++
		l = strings.TrimSuffix(strings.TrimSuffix(l, "\n"), "\r")
		if l == `\.` {
			break
		}
		if line == 1 && cmd.header {
			continue
		}
		fieldsBuf, nulls = fieldsBuf[:0], nulls[:0]
		for _, f := range strings.Split(l, string(cmd.delim)) {
			if f == cmd.null {
				fieldsBuf, nulls = append(fieldsBuf, ""), append(nulls, true)
				continue
			}
			v, err := unescapeText(f)
			if err != nil {
				return &pgError{code: "22P04", msg: fmt.Sprintf("COPY %s, line %d: %v", cmd.table, line, err)}
			}
			fieldsBuf, nulls = append(fieldsBuf, v), append(nulls, false)
		}
		i := 0
		if err := writeCSVRecord(bw, fieldsBuf, func(string) bool { i++; return nulls[i-1] }); err != nil {
			return err
		}
		if err != nil {
			break
		}
	}
	return bw.Flush()
}

// skipCSVRecord reads past the first csv record (quotes may hold
// newlines).
func skipCSVRecord(r *bufio.Reader) error {
	quoted := false
	for {
		b, err := r.ReadByte()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		switch {
		case b == '"':
			quoted = !quoted
		case b == '\n' && !quoted:
			return nil
		}
	}
}

// copyLines copies r to w up to a line "\." (the end of data in
// PostgreSQL's COPY), or to its end.
func copyLines(w io.Writer, r *bufio.Reader) error {
	for {
		l, err := r.ReadString('\n')
		if strings.TrimRight(l, "\r\n") == `\.` {
			return nil
		}
		if _, werr := io.WriteString(w, l); werr != nil {
			return werr
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// writeCSVRecord writes one csv line: NULL as an empty field, any other
// value quoted when it is empty or holds a delimiter, quote or newline
// (softdb's csv reads "" as the empty string and an empty field as NULL).
func writeCSVRecord(w *bufio.Writer, rec []string, isNull func(string) bool) error {
	for i, f := range rec {
		if i > 0 {
			w.WriteByte(',')
		}
		if isNull(f) {
			continue
		}
		writeCSVField(w, f)
	}
	return w.WriteByte('\n')
}

func writeCSVField(w *bufio.Writer, f string) {
	if f != "" && !strings.ContainsAny(f, ",\"\r\n") && f[0] != ' ' && f[len(f)-1] != ' ' {
		w.WriteString(f)
		return
	}
	w.WriteByte('"')
	w.WriteString(strings.ReplaceAll(f, `"`, `""`))
	w.WriteByte('"')
}

// unescapeText undoes COPY's text-format escapes.
func unescapeText(f string) (string, error) {
	if !strings.Contains(f, `\`) {
		return f, nil
	}
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		ch := f[i]
		if ch != '\\' || i+1 == len(f) {
			b.WriteByte(ch)
			continue
		}
		i++
		switch e := f[i]; e {
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'v':
			b.WriteByte('\v')
		case 'x':
			j := i + 1
			for j < len(f) && j < i+3 && isHex(f[j]) {
				j++
			}
			if j == i+1 {
				b.WriteByte('x')
				continue
			}
			n, _ := strconv.ParseUint(f[i+1:j], 16, 8)
			b.WriteByte(byte(n))
			i = j - 1
		default:
			if e >= '0' && e <= '7' {
				j := i
				for j < len(f) && j < i+3 && f[j] >= '0' && f[j] <= '7' {
					j++
				}
				n, _ := strconv.ParseUint(f[i:j], 8, 16)
				b.WriteByte(byte(n))
				i = j - 1
				continue
			}
			b.WriteByte(e)
		}
	}
	return b.String(), nil
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// copyOut runs the SELECT of the COPY and sends its rows in the asked
// format.
func (c *conn) copyOut(ctx context.Context, cmd *copyCommand) error {
	text := cmd.query
	if text == "" {
		// Without a list, the table's columns but the generated ones, as
		// COPY … TO a file writes (and COPY … FROM reads back).
		names, _, err := c.targetColumns(ctx, cmd)
		if err != nil {
			return err
		}
		q := make([]string, len(names))
		for i, n := range names {
			q[i] = quoteIdent(n)
		}
		text = "SELECT " + strings.Join(q, ", ") + " FROM " + quoteIdent(cmd.table)
	}
	st, err := query.ParseOne(text)
	if err != nil {
		return err
	}
	if _, ok := st.(*query.Select); !ok {
		return &pgError{code: "42601", msg: "COPY (…) TO STDOUT takes a SELECT"}
	}
	res, err := c.db.Run(ctx, st)
	if err != nil {
		return err
	}
	c.be.Send(&pgproto3.CopyOutResponse{OverallFormat: 0, ColumnFormatCodes: make([]uint16, len(res.Columns))})
	var line bytes.Buffer
	bw := bufio.NewWriter(&line)
	send := func() {
		bw.Flush()
		c.be.Send(&pgproto3.CopyData{Data: bytes.Clone(line.Bytes())})
		line.Reset()
	}
	if cmd.header {
		for i, n := range res.Columns {
			if i > 0 {
				bw.WriteByte(cmd.delim)
			}
			if cmd.csv {
				writeCSVField(bw, n)
			} else {
				bw.WriteString(escapeText(n, cmd.delim))
			}
		}
		bw.WriteByte('\n')
		send()
	}
	var buf []byte
	for k, r := range res.Rows {
		for i, v := range r {
			if i > 0 {
				bw.WriteByte(cmd.delim)
			}
			var ok bool
			buf, ok = appendText(buf[:0], v)
			switch {
			case !ok:
				bw.WriteString(cmd.null)
			case cmd.csv:
				s := string(buf)
				if s == "" || s == cmd.null || strings.IndexByte(s, cmd.delim) >= 0 {
					bw.WriteByte('"')
					bw.WriteString(strings.ReplaceAll(s, `"`, `""`))
					bw.WriteByte('"')
				} else {
					writeCSVField(bw, s)
				}
			default:
				bw.WriteString(escapeText(string(buf), cmd.delim))
			}
		}
		bw.WriteByte('\n')
		send()
		if (k+1)%flushRows == 0 {
			if err := c.flush(); err != nil {
				return err
			}
		}
	}
	c.be.Send(&pgproto3.CopyDone{})
	c.be.Send(&pgproto3.CommandComplete{CommandTag: []byte(fmt.Sprintf("COPY %d", len(res.Rows)))})
	return nil
}

func escapeText(s string, delim byte) string {
	if !strings.ContainsAny(s, "\\\n\r\t"+string(delim)) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; ch {
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if ch == delim {
				b.WriteByte('\\')
			}
			b.WriteByte(ch)
		}
	}
	return b.String()
}

// checkPaths applies --files to COPY … 'path': without it the server's
// files are out of reach; with it every path, relative ones resolved
// against the directory and symbolic links followed, must lie inside it.
func (c *conn) checkPaths(cp *query.Copy) error {
	dir := c.srv.cfg.FilesDir
	if dir == "" {
		return &pgError{code: "42501", msg: "COPY with a file name reads or writes the server's files, which this server does not allow",
			hint: "Use COPY … FROM STDIN / TO STDOUT (psql's \\copy) to send the client's files, or start the server with --files DIR."}
	}
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return &pgError{code: "58P01", msg: fmt.Sprintf("--files directory: %v", err)}
	}
	root, _ = filepath.Abs(root)
	for i := range cp.Paths {
		p := cp.Paths[i].Value
		if !filepath.IsAbs(p) {
			p = filepath.Join(root, p)
		}
		real, err := filepath.EvalSymlinks(p)
		if errors.Is(err, os.ErrNotExist) && cp.To {
			// A file COPY TO will create: its directory must resolve inside.
			d, derr := filepath.EvalSymlinks(filepath.Dir(p))
			if derr != nil {
				return &pgError{code: "58P01", msg: fmt.Sprintf("COPY: %s: %v", cp.Paths[i].Value, derr)}
			}
			real, err = filepath.Join(d, filepath.Base(p)), nil
		}
		if err != nil {
			return &pgError{code: "58P01", msg: fmt.Sprintf("COPY: %s: %v", cp.Paths[i].Value, errors.Unwrap(err))}
		}
		rel, err := filepath.Rel(root, real)
		if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return &pgError{code: "42501", msg: fmt.Sprintf("COPY: %s is outside the server's files directory %s (symbolic links resolved)", cp.Paths[i].Value, dir)}
		}
		cp.Paths[i].Value = real
	}
	return nil
}
