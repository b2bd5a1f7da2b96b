package server

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/softdb/softdb"
	"github.com/softdb/softdb/query"
)

// prepared is a statement of the extended protocol (or one of a simple
// query): softdb's parsed statement, or one the server answers itself.
type prepared struct {
	text      string
	stmt      query.Statement // nil for special and empty statements
	special   *special
	paramOIDs []uint32
	params    []softdb.ColumnType         // what each placeholder is used as
	fields    []pgproto3.FieldDescription // nil: returns no rows
	hasRows   bool
}

func (p *prepared) empty() bool { return p.stmt == nil && p.special == nil }

// portal is a bound statement, run at its first Execute; its rows are
// kept for the Executes that fetch the rest.
type portal struct {
	p       *prepared
	args    []any
	formats []int16
	res     *result
	next    int
}

// result is what a statement returned.
type result struct {
	fields []pgproto3.FieldDescription // nil: no rows
	rows   [][]any
	tag    string
}

// flushRows is how many DataRows are buffered before a write.
const flushRows = 512

// simpleQuery runs a Query message: one or more statements, each in turn
// until one fails. Several statements outside BEGIN share one implicit
// transaction (tx.go), so a failure undoes the ones before it.
func (c *conn) simpleQuery(sql string) {
	ran := false
	fail := func(err error) {
		c.failStatement()
		c.sendError(err)
	}
	// Positions and what follows are tracked as the string is read, so
	// that a string of many statements costs time linear in its length.
	var pos textPos
	tail := len(strings.TrimRight(sql, " \t\r\n;")) // statements end before it
	for off := 0; off < len(sql); {
		end := query.StatementEnd(sql[off:])
		if end < 0 {
			end = len(sql) - off
		}
		piece := sql[off : off+end]
		at := pos.at(sql, off)
		off += end
		// The last statement alone needs no transaction of its own: it
		// commits by itself.
		c.implicit = c.implicitTx || off < tail
		p, err := c.prepareText(piece, at, nil)
		if err != nil {
			fail(withPosition(err, sql))
			return
		}
		if p.empty() {
			continue
		}
		ran = true
		if p.special != nil && p.special.copyIO != nil {
			if c.failedTx {
				fail(errAborted)
				return
			}
			if err := c.copyIO(p.special.copyIO); err != nil {
				fail(err)
				return
			}
			continue
		}
		res, err := c.run(p, nil)
		if err != nil {
			fail(withPosition(err, sql))
			return
		}
		if res.fields != nil {
			c.be.Send(&pgproto3.RowDescription{Fields: res.fields})
		}
		if err := c.sendRows(res.rows, res.fields, nil); err != nil {
			_ = c.endImplicit(true)
			return
		}
		c.be.Send(&pgproto3.CommandComplete{CommandTag: []byte(res.tag)})
		c.unflushed++
		if err := c.flushSome(); err != nil {
			_ = c.endImplicit(true)
			return
		}
	}
	if err := c.endImplicit(false); err != nil {
		c.sendError(err)
		return
	}
	if !ran {
		c.be.Send(&pgproto3.EmptyQueryResponse{})
	}
}

// textPos finds positions in a text at increasing offsets, reading each
// byte once.
type textPos struct {
	off, line, lineStart int // line counts from 0 here
}

// at is the position of byte off of text; off must not decrease.
func (p *textPos) at(text string, off int) query.Pos {
	seg := text[p.off:off]
	if n := strings.Count(seg, "\n"); n > 0 {
		p.line += n
		p.lineStart = p.off + strings.LastIndexByte(seg, '\n') + 1
	}
	p.off = off
	return query.MakePos(off, p.line+1, off-p.lineStart+1)
}

// prepareText parses one statement of text (starting at position at of
// the client's query string) and, for the extended protocol (describe),
// tells what its placeholders and result are.
func (c *conn) prepareText(text string, at query.Pos, describe []uint32) (*prepared, error) {
	p := &prepared{text: text}
	if sp := c.classify(text); sp != nil {
		p.special = sp
		if sp.cols != nil {
			p.fields = textFields(sp.cols...)
			p.hasRows = true
		}
		return p, nil
	}
	// A statement that starts the query string is looked up among the
	// recent ones (parsed statements are never modified, so they may be
	// run again): clients send the same text over and over.
	cacheable := at.Offset == 0 && len(text) <= maxCachedText
	if st, ok := c.parsed[text]; cacheable && ok {
		p.stmt = st
		return c.describePrepared(p, describe)
	}
	stmts, err := query.ParseAt(text, at)
	if err != nil {
		return nil, err
	}
	switch len(stmts) {
	case 0:
		return p, nil
	case 1:
	default:
		return nil, &pgError{code: "42601", msg: "cannot insert multiple commands into a prepared statement"}
	}
	p.stmt = stmts[0]
	if _, isCopy := p.stmt.(*query.Copy); cacheable && !isCopy {
		if len(c.parsed) >= maxCached {
			clear(c.parsed)
		}
		c.parsed[text] = p.stmt
	}
	return c.describePrepared(p, describe)
}

// The parse cache of a connection: statements up to maxCachedText
// bytes, at most maxCached of them.
const (
	maxCached     = 256
	maxCachedText = 4096
)

// describePrepared checks COPY's paths and, for the extended protocol,
// tells what the placeholders and the result are.
func (c *conn) describePrepared(p *prepared, describe []uint32) (*prepared, error) {
	if cp, ok := p.stmt.(*query.Copy); ok {
		if err := c.checkPaths(cp); err != nil {
			return nil, err
		}
	}
	if describe == nil {
		return p, nil
	}
	d, err := c.db.Describe(context.Background(), p.stmt)
	if err != nil {
		return nil, err
	}
	p.params = d.Params
	n := max(len(describe), len(d.Params))
	p.paramOIDs = make([]uint32, n)
	for i := range p.paramOIDs {
		if i < len(describe) && describe[i] != 0 {
			p.paramOIDs[i] = describe[i]
		} else if i < len(d.Params) {
			p.paramOIDs[i] = paramOID(d.Params[i])
		}
	}
	if d.HasRows {
		p.fields = fields(d.Columns)
		p.hasRows = true
	}
	return p, nil
}

// run runs a prepared statement with its arguments.
func (c *conn) run(p *prepared, args []any) (*result, error) {
	if c.failedTx && (p.special == nil || p.special.stmt == nil) {
		return nil, errAborted
	}
	if sp := p.special; sp != nil {
		switch {
		case sp.err != nil:
			return nil, sp.err
		case sp.set != nil:
			sp.set(c)
		case sp.do != nil:
			if err := sp.do(c); err != nil {
				return nil, err
			}
		case sp.stmt != nil:
			ctx, done := c.statementContext()
			defer done()
			tag, err := c.txControl(ctx, sp.stmt)
			if err != nil {
				return nil, err
			}
			if tag != "" {
				return &result{tag: tag}, nil
			}
		case sp.copyIO != nil:
			return nil, &pgError{code: "0A000", msg: "COPY FROM STDIN / TO STDOUT is supported in the simple query protocol only"}
		}
		res := &result{tag: sp.tag, rows: sp.rows}
		if sp.cols != nil {
			res.fields = p.fields
			res.tag = fmt.Sprintf("SELECT %d", len(sp.rows))
		}
		return res, nil
	}
	ctx, done := c.statementContext()
	defer done()
	if err := c.beginIfWrite(ctx, p.stmt); err != nil {
		return nil, err
	}
	st, err := c.db.Run(ctx, p.stmt, args...)
	if err != nil {
		return nil, err
	}
	res := &result{rows: st.Rows, tag: commandTag(p.stmt, st)}
	if st.Columns != nil {
		res.fields = p.fields
		if res.fields == nil || len(res.fields) != len(st.Columns) {
			res.fields = fields(st.Types)
		}
	}
	return res, nil
}

// commandTag is the CommandComplete tag of stmt: PostgreSQL's INSERT tag
// carries an OID (always 0) before the count; a statement that returned
// rows is a SELECT of that many.
func commandTag(stmt query.Statement, st *softdb.Statement) string {
	if _, ok := stmt.(*query.Explain); ok {
		return "EXPLAIN"
	}
	tag, counted := query.CommandTag(stmt)
	switch {
	case tag == "INSERT":
		return fmt.Sprintf("INSERT 0 %d", st.Result.RowsAffected)
	case counted:
		return fmt.Sprintf("%s %d", tag, st.Result.RowsAffected)
	case tag != "":
		return tag
	}
	return fmt.Sprintf("SELECT %d", len(st.Rows))
}

// sendRows sends rows as DataRows, flushing now and then so that a large
// result streams.
func (c *conn) sendRows(rows [][]any, fs []pgproto3.FieldDescription, formats []int16) error {
	buf := c.rowBuf
	defer func() {
		if cap(buf) <= 1<<16 { // a huge row's buffer is not kept
			c.rowBuf = buf[:0]
		}
	}()
	for i, r := range rows {
		var vals [][]byte
		vals, buf = encodeRow(r, fs, formats, buf)
		c.be.Send(&pgproto3.DataRow{Values: vals})
		if (i+1)%flushRows == 0 {
			if err := c.flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c *conn) parse(m *pgproto3.Parse) {
	if m.Name != "" {
		if _, dup := c.stmts[m.Name]; dup {
			c.extError(&pgError{code: "42P05", msg: fmt.Sprintf("prepared statement %q already exists", m.Name)})
			return
		}
	}
	if err := checkUTF8("", []byte(m.Query)); err != nil {
		c.extError(err)
		return
	}
	oids := m.ParameterOIDs
	if oids == nil {
		oids = []uint32{}
	}
	p, err := c.prepareText(m.Query, query.Pos{Line: 1, Col: 1}, oids)
	if err != nil {
		c.extError(withPosition(err, m.Query))
		return
	}
	c.stmts[m.Name] = p
	c.be.Send(&pgproto3.ParseComplete{})
}

func (c *conn) bind(m *pgproto3.Bind) {
	p, ok := c.stmts[m.PreparedStatement]
	if !ok {
		c.extError(&pgError{code: "26000", msg: fmt.Sprintf("prepared statement %q does not exist", m.PreparedStatement)})
		return
	}
	if m.DestinationPortal != "" {
		if _, dup := c.portals[m.DestinationPortal]; dup {
			c.extError(&pgError{code: "42P03", msg: fmt.Sprintf("portal %q already exists", m.DestinationPortal)})
			return
		}
	}
	if len(m.Parameters) != len(p.paramOIDs) {
		c.extError(&pgError{code: "08P01", msg: fmt.Sprintf("bind message supplies %d parameters, but prepared statement %q requires %d", len(m.Parameters), m.PreparedStatement, len(p.paramOIDs))})
		return
	}
	if n := len(m.ParameterFormatCodes); n > 1 && n != len(m.Parameters) {
		c.extError(&pgError{code: "08P01", msg: fmt.Sprintf("bind message has %d parameter formats but %d parameters", n, len(m.Parameters))})
		return
	}
	args := make([]any, len(m.Parameters))
	for i, raw := range m.Parameters {
		kind := ""
		if i < len(p.params) {
			kind = p.params[i].Kind
		}
		format := formatFor(m.ParameterFormatCodes, i)
		if format == 0 || isTextOID(p.paramOIDs[i]) {
			if err := checkUTF8(fmt.Sprintf("parameter $%d: ", i+1), raw); err != nil {
				c.extError(err)
				return
			}
		}
		v, err := decodeParam(i, raw, format, p.paramOIDs[i], kind)
		if err != nil {
			c.extError(err)
			return
		}
		args[i] = v
	}
	c.portals[m.DestinationPortal] = &portal{p: p, args: args, formats: append([]int16(nil), m.ResultFormatCodes...)}
	c.be.Send(&pgproto3.BindComplete{})
}

func (c *conn) describe(m *pgproto3.Describe) {
	if m.ObjectType == 'S' {
		p, ok := c.stmts[m.Name]
		if !ok {
			c.extError(&pgError{code: "26000", msg: fmt.Sprintf("prepared statement %q does not exist", m.Name)})
			return
		}
		c.be.Send(&pgproto3.ParameterDescription{ParameterOIDs: p.paramOIDs})
		if p.fields != nil {
			c.be.Send(&pgproto3.RowDescription{Fields: p.fields})
		} else {
			c.be.Send(&pgproto3.NoData{})
		}
		return
	}
	pt, ok := c.portals[m.Name]
	if !ok {
		c.extError(&pgError{code: "34000", msg: fmt.Sprintf("portal %q does not exist", m.Name)})
		return
	}
	if pt.p.fields == nil {
		c.be.Send(&pgproto3.NoData{})
		return
	}
	fs := make([]pgproto3.FieldDescription, len(pt.p.fields))
	copy(fs, pt.p.fields)
	for i := range fs {
		fs[i].Format = formatFor(pt.formats, i)
	}
	c.be.Send(&pgproto3.RowDescription{Fields: fs})
}

func (c *conn) execute(m *pgproto3.Execute) {
	pt, ok := c.portals[m.Portal]
	if !ok {
		c.extError(&pgError{code: "34000", msg: fmt.Sprintf("portal %q does not exist", m.Portal)})
		return
	}
	if pt.p.empty() {
		c.be.Send(&pgproto3.EmptyQueryResponse{})
		return
	}
	if pt.res == nil {
		if !c.pendingBegin && !c.db.InTx() {
			c.implicit = true // until Sync
		}
		res, err := c.run(pt.p, pt.args)
		if err != nil {
			c.extError(withPosition(err, pt.p.text))
			return
		}
		pt.res = res
	}
	rows := pt.res.rows[pt.next:]
	if m.MaxRows > 0 && uint32(len(rows)) > m.MaxRows {
		rows = rows[:m.MaxRows]
	}
	if err := c.sendRows(rows, pt.res.fields, pt.formats); err != nil {
		return
	}
	pt.next += len(rows)
	if pt.next < len(pt.res.rows) {
		c.be.Send(&pgproto3.PortalSuspended{})
		return
	}
	c.be.Send(&pgproto3.CommandComplete{CommandTag: []byte(pt.res.tag)})
}
