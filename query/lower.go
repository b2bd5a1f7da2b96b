package query

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/alecthomas/participle/v2/lexer"
	"github.com/softdb/softdb/types"
)

// lowerer turns one statement's parse tree into AST nodes. The first error
// wins; later calls keep going on partial input and their results are
// discarded.
type lowerer struct {
	err    *Error
	params []int // offsets of the "?" parameters, in order: ? number i+1 is at params[i]

	// The nodes a long expression is mostly made of come from chunks
	// rather than one allocation each: an operator and a literal per term
	// of 1 + 1 + …, which otherwise cost two allocations and 112 bytes
	// (size classes 80 and 32) a term. Chunks grow from 2 to maxChunk
	// nodes, so a short expression allocates about what it uses.
	bins []Binary
	ints []IntLit
}

// maxChunk is the most nodes of one type a chunk holds: 128 Binary nodes
// are 9 KB.
const maxChunk = 128

// chunkFor returns a slice with room for one more node, a new chunk when
// s is full.
func chunkFor[T any](s []T) []T {
	if len(s) < cap(s) {
		return s
	}
	return make([]T, 0, min(max(2*cap(s), 2), maxChunk))
}

func (l *lowerer) binary(at Pos, op string, x, y Expr) *Binary {
	l.bins = append(chunkFor(l.bins), Binary{At: at, Op: binOpOf(op), L: x, R: y})
	return &l.bins[len(l.bins)-1]
}

func (l *lowerer) intLit(at Pos, v int64) *IntLit {
	l.ints = append(chunkFor(l.ints), IntLit{At: at, Value: v})
	return &l.ints[len(l.ints)-1]
}

func pos(p lexer.Position) Pos { return MakePos(p.Offset, p.Line, p.Column) }

func (l *lowerer) fail(p lexer.Position, format string, args ...any) {
	if l.err == nil {
		l.err = &Error{Pos: pos(p), Msg: fmt.Sprintf(format, args...)}
	}
}

func (l *lowerer) statement(s *statement) Statement {
	var st Statement
	switch {
	case l.learnStatement(s) != nil: // projections and TRAIN (learn.go)
		st = l.learnStatement(s)
	case s.Create != nil && s.Create.Index != nil:
		st = l.createIndex(s.Create.Index)
		st.(*CreateIndex).At = pos(s.Create.Pos)
	case s.Create != nil:
		st = l.createTable(s.Create.Table)
		if ct, ok := st.(*CreateTable); ok {
			ct.At = pos(s.Create.Pos)
		}
	case s.Drop != nil && s.Drop.Index:
		st = &DropIndex{At: pos(s.Drop.Pos), IfExists: s.Drop.IfExists, Name: l.name(s.Drop.Name)}
	case s.Drop != nil:
		st = &DropTable{At: pos(s.Drop.Pos), IfExists: s.Drop.IfExists, Name: l.name(s.Drop.Name)}
	case s.Reindex != nil:
		st = &Reindex{At: pos(s.Reindex.Pos), Name: l.name(s.Reindex.Name)}
	case s.Show != nil && s.Show.Setting != nil:
		st = &ShowSetting{At: pos(s.Show.Pos), Name: l.name(s.Show.Setting)}
	case s.Show != nil && s.Show.Indexes:
		st = &ShowIndexes{At: pos(s.Show.Pos)}
	case s.Insert != nil:
		st = l.insert(s.Insert)
	case s.Update != nil:
		st = l.update(s.Update)
	case s.Delete != nil:
		st = &Delete{At: pos(s.Delete.Pos), Table: l.name(s.Delete.Table), Where: l.optExpr(s.Delete.Where)}
	case s.Select != nil:
		st = l.selectStmt(s.Select)
	case s.Copy != nil:
		st = l.copyStmt(s.Copy)
	case s.Show != nil:
		st = &ShowTables{At: pos(s.Show.Pos)}
	case s.Describe != nil:
		st = &Describe{At: pos(s.Describe.Pos), Table: l.name(s.Describe.Table)}
	case s.Begin != nil:
		st = &Begin{At: pos(s.Begin.Pos)}
	case s.Commit != nil:
		st = &Commit{At: pos(s.Commit.Pos)}
	case s.Rollback != nil:
		st = &Rollback{At: pos(s.Rollback.Pos)}
	case s.Set != nil:
		v := s.Set.Value.Value
		if s.Set.Value.Type == tokString {
			v = unquote(v)
		}
		st = &Set{At: pos(s.Set.Pos), Name: l.name(s.Set.Name), Value: v, ValueAt: pos(s.Set.Value.Pos)}
	default:
		l.fail(s.Pos, "empty statement")
		return nil
	}
	if s.Explain && s.Train == nil { // EXPLAIN ANALYZE TRAIN is a Train
		return &Explain{At: pos(s.Pos), Analyze: s.Analyze, Stmt: st}
	}
	return st
}

func (l *lowerer) name(n *name) Ident {
	if n == nil {
		return Ident{}
	}
	return Ident{At: pos(n.Tok.Pos), Name: identText(n.Tok)}
}

// identText is a name token's text: quoted names lose their quotes.
func identText(t lexer.Token) string {
	if t.Type == tokQIdent {
		return unquote(t.Value)
	}
	return t.Value
}

// unquote strips the outer quote characters and undoubles inner ones.
func unquote(s string) string {
	if len(s) < 2 {
		return s
	}
	q := s[:1]
	return strings.ReplaceAll(s[1:len(s)-1], q+q, q)
}

func (l *lowerer) names(ns []*name) []Ident {
	if len(ns) == 0 {
		return nil
	}
	out := make([]Ident, len(ns))
	for i, n := range ns {
		out[i] = l.name(n)
	}
	return out
}

func (l *lowerer) createTable(c *createTable) Statement {
	ct := &CreateTable{At: pos(c.Pos), IfNotExists: c.IfNotExists, Name: l.name(c.Name)}
	var pks []*tableElem
	for _, e := range c.Elems {
		if e.PrimaryKey != nil {
			pks = append(pks, e)
			continue
		}
		ct.Columns = append(ct.Columns, l.columnDef(e.Column))
	}
	// A table-level PRIMARY KEY (col) is folded into its column.
	for _, e := range pks {
		want := identText(e.PrimaryKey.Tok)
		found := false
		for i := range ct.Columns {
			if strings.EqualFold(ct.Columns[i].Name.Name, want) {
				ct.Columns[i].PrimaryKey = true
				found = true
				break
			}
		}
		if !found {
			l.fail(e.PrimaryKey.Tok.Pos, "PRIMARY KEY names unknown column %s", quoteIdent(want))
		}
	}
	if len(ct.Columns) == 0 {
		l.fail(c.Pos, "CREATE TABLE needs at least one column")
	}
	return ct
}

func (l *lowerer) columnDef(c *columnDef) ColumnDef {
	cd := ColumnDef{At: pos(c.Pos), Name: l.name(c.Name), Type: l.typeName(c.Type)}
	for _, k := range c.Constraints {
		switch {
		case k.PrimaryKey:
			cd.PrimaryKey = true
		case k.NotNull:
			cd.NotNull = true
		case k.Generated != nil:
			cd.Generated = l.expr(k.Generated)
		}
	}
	return cd
}

func (l *lowerer) typeName(t *typeName) types.Type {
	word := strings.ToUpper(t.Name.Value)
	var typ types.Type
	sized := false
	switch word {
	case "INT", "INTEGER", "BIGINT":
		typ = types.Type{Kind: types.Int}
	case "FLOAT", "REAL", "DOUBLE":
		typ = types.Type{Kind: types.Float}
	case "TEXT":
		typ = types.Type{Kind: types.Text}
	case "VARCHAR":
		typ = types.Type{Kind: types.Text}
		sized = true
	case "VECTOR":
		typ = types.Type{Kind: types.Vector}
		sized = true
	default:
		l.fail(t.Name.Pos, "unknown type %s (want INT, FLOAT, TEXT or VECTOR(n))", t.Name.Value)
		return typ
	}
	if t.Precision && word != "DOUBLE" {
		l.fail(t.Pos, "PRECISION only follows DOUBLE")
	}
	if t.Size == nil {
		if word == "VECTOR" {
			l.fail(t.Name.Pos, "VECTOR needs a dimension, e.g. VECTOR(3)")
		}
		return typ
	}
	if !sized {
		l.fail(t.Size.Pos, "type %s takes no size", word)
		return typ
	}
	n, err := strconv.Atoi(t.Size.Value)
	if t.Sign == "-" {
		n = -n
	}
	if word == "VECTOR" {
		if err != nil || n < 1 || n > types.MaxDim {
			l.fail(t.Size.Pos, "VECTOR dimension must be between 1 and %d, got %s%s", types.MaxDim, t.Sign, t.Size.Value)
		}
		typ.Dim = n
	} else if err != nil || n < 1 {
		l.fail(t.Size.Pos, "VARCHAR length must be a positive integer, got %s%s", t.Sign, t.Size.Value)
	}
	return typ
}

func (l *lowerer) insert(s *insertStmt) Statement {
	ins := &Insert{At: pos(s.Pos), Table: l.name(s.Table), Columns: l.names(s.Columns)}
	l.expr(&s.Rows.acc)
	ins.Rows = s.Rows.Rows
	return ins
}

func (l *lowerer) update(s *updateStmt) Statement {
	u := &Update{At: pos(s.Pos), Table: l.name(s.Table), Where: l.optExpr(s.Where)}
	u.Set = make([]Assignment, len(s.Set))
	for i, a := range s.Set {
		u.Set[i] = Assignment{Column: l.name(a.Column), Value: l.expr(a.Value)}
	}
	return u
}

func (l *lowerer) copyStmt(c *copyStmt) Statement {
	cp := &Copy{At: pos(c.Pos), Table: l.name(c.Table), Columns: l.names(c.Columns), To: strings.EqualFold(c.Dir, "TO")}
	for _, p := range c.Paths {
		cp.Paths = append(cp.Paths, StringLit{At: pos(p.Tok.Pos), Value: unquote(p.Tok.Value)})
	}
	cp.Options = l.options(c.Options)
	return cp
}

func (l *lowerer) selectStmt(s *selectStmt) *Select {
	if s.Attn != nil {
		a := s.Attn
		mode := Hard
		if strings.EqualFold(a.Mode, "SOFT") {
			mode = Soft
		}
		from := l.name(a.From)
		return l.selectBody(a.Pos, mode, a.Items, &from, a.Clauses, a.Tail)
	}
	p := s.Plain
	var from *Ident
	if p.From != nil {
		f := l.name(p.From)
		from = &f
	}
	return l.selectBody(p.Pos, Plain, p.Items, from, p.Clauses, p.Tail)
}

var clauseNames = [...]string{"MATCH", "ON", "USING", "TEMPERATURE", "TOP", "WHERE", "HEADS", "BACKWARD", "WITHIN ERROR"}

func (l *lowerer) selectBody(at lexer.Position, mode SelectMode, items *selectItems, from *Ident, clauses []*clause, tail *selectTail) *Select {
	sel := &Select{At: pos(at), Mode: mode, From: from}
	l.expr(&items.acc)
	sel.Items = items.Items
	var m Match
	var seen [len(clauseNames)]*lexer.Position
	for _, c := range clauses {
		k := 5
		switch {
		case c.Match != nil:
			k = 0
		case c.On != nil:
			k = 1
		case c.Using != "":
			k = 2
		case c.Temperature != nil:
			k = 3
		case c.Top != nil:
			k = 4
		case c.Heads != nil:
			k = 6
		case c.Backward != nil:
			k = 7
		case c.Within != nil:
			k = 8
		}
		if first := seen[k]; first != nil {
			l.fail(c.Pos, "duplicate %s clause (first at %d:%d)", clauseNames[k], first.Line, first.Column)
			continue
		}
		cpos := c.Pos
		seen[k] = &cpos
		if k != 5 && mode == Plain {
			l.fail(c.Pos, "%s requires HARD SELECT or SOFT SELECT", clauseNames[k])
			continue
		}
		switch k {
		case 0:
			m.At = pos(c.Pos)
			m.Query = l.expr(c.Match)
		case 1:
			on := l.name(c.On)
			m.On = &on
		case 2:
			switch strings.ToUpper(c.Using) {
			case "DOT":
				m.Metric = Dot
			case "COSINE":
				m.Metric = Cosine
			case "L2":
				m.Metric = L2
			}
		case 3:
			m.Temperature = l.expr(c.Temperature)
		case 4:
			if mode == Hard {
				l.fail(c.Pos, "TOP applies to SOFT SELECT only; HARD SELECT takes LIMIT k")
				continue
			}
			m.Top = l.expr(c.Top)
		case 5:
			sel.Where = l.expr(c.Where)
		case 8:
			if mode == Hard {
				l.fail(c.Pos, "WITHIN ERROR applies to SOFT SELECT only; HARD SELECT through an index is always exact")
				continue
			}
			m.Within = l.expr(c.Within)
		default:
			l.learnedClause(&m, mode, c)
		}
	}
	if mode != Plain {
		if seen[0] == nil {
			l.fail(at, "%s SELECT requires a MATCH clause", mode)
		}
		sel.Match = &m
	}
	if g := tail.GroupBy; g != nil {
		l.expr(&g.acc)
		sel.GroupBy = g.Items
	}
	sel.Having = l.optExpr(tail.Having)
	if o := tail.OrderBy; o != nil {
		l.expr(&o.acc)
		sel.OrderBy = o.Items
	}
	sel.Limit = l.optExpr(tail.Limit)
	sel.Offset = l.optExpr(tail.Offset)
	return sel
}

func (l *lowerer) exprs(es []*expr) []Expr {
	if len(es) == 0 {
		return nil
	}
	out := make([]Expr, len(es))
	for i, e := range es {
		out[i] = l.expr(e)
	}
	return out
}

func (l *lowerer) optExpr(e *expr) Expr {
	if e == nil {
		return nil
	}
	return l.expr(e)
}

// expr finishes an expression the hand parser built: its first lowering
// error, the numbers of its "?" parameters and its subqueries.
func (l *lowerer) expr(e *expr) Expr {
	if e.err != nil && l.err == nil {
		l.err = e.err
	}
	for _, q := range e.qs {
		q.Index = l.paramIndex(int(q.At.Offset))
	}
	for _, s := range e.subs {
		s.node.Select = l.selectStmt(s.tree)
	}
	return e.X
}

func (l *lowerer) number(p lexer.Position, text string, typ lexer.TokenType) Expr {
	if typ == tokInt {
		v, err := strconv.ParseInt(text, 10, 64)
		if err == nil {
			return l.intLit(pos(p), v)
		}
		// Too big for INT: it becomes a FLOAT, as in SQLite.
	}
	v, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsInf(v, 0) {
		l.fail(p, "number %s is out of range", text)
	}
	return &FloatLit{At: pos(p), Value: v, Text: text}
}

// paramIndex numbers the "?" at offset off.
func (l *lowerer) paramIndex(off int) int {
	i, found := slices.BinarySearch(l.params, off)
	if !found {
		return 0
	}
	return i + 1
}

// maxParam bounds $n so the executor can size argument arrays from it.
const maxParam = 65535

func (l *lowerer) param(t lexer.Token) Expr {
	at := pos(t.Pos)
	if t.Value == "?" {
		return &Param{At: at, Index: l.paramIndex(t.Pos.Offset)}
	}
	n, err := strconv.Atoi(t.Value[1:])
	if err != nil || n < 1 || n > maxParam {
		l.fail(t.Pos, "parameter %s is out of range: parameters are numbered $1 to $%d", t.Value, maxParam)
	}
	return &Param{At: at, Index: n}
}

// vector checks the elements of a [ … ] token: each must be a signed numeric
// literal that is a finite float32. Errors point at the element.
func (l *lowerer) vector(t lexer.Token) Expr {
	v := &VectorLit{At: pos(t.Pos)}
	src := t.Value
	// at converts an offset inside the token to a position.
	at := func(off int) lexer.Position {
		s := scanner{src: src, line: t.Pos.Line, lineStart: -(t.Pos.Column - 1)}
		s.advance(off)
		p := s.pos()
		p.Offset += t.Pos.Offset
		return p
	}
	i := 1
	end := len(src) - 1 // the closing "]"
	for {
		// Skip space and comments before an element.
		i = skipVecSpace(src, i, end)
		start := i
		for i < end && !isVecSep(src, i) {
			i++
		}
		word := src[start:i]
		j := skipVecSpace(src, i, end)
		if word == "" {
			if j == end && len(v.Values) == 0 {
				l.fail(at(start), "vector literal must have at least 1 element")
			} else {
				l.fail(at(start), "missing vector element")
			}
			return v
		}
		if j < end && src[j] != ',' {
			l.fail(at(j), "unexpected %q in vector literal, expected \",\" or \"]\"", vecWord(src, j, end))
			return v
		}
		f, err := vectorElement(word)
		if err != nil {
			l.fail(at(start), "vector element %s", err)
			return v
		}
		if len(v.Values) == types.MaxDim {
			l.fail(at(start), "vector literal has more than %d elements", types.MaxDim)
			return v
		}
		v.Values = append(v.Values, f)
		if j == end {
			return v
		}
		i = j + 1
	}
}

func skipVecSpace(src string, i, end int) int {
	for i < end {
		switch c := src[i]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '-' && i+1 < end && src[i+1] == '-':
			for i < end && src[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < end && src[i+1] == '*':
			k := strings.Index(src[i+2:end], "*/")
			if k < 0 {
				return end
			}
			i += 2 + k + 2
		default:
			return i
		}
	}
	return i
}

// isVecSep reports whether an element ends at src[i].
func isVecSep(src string, i int) bool {
	switch c := src[i]; c {
	case ',', ' ', '\t', '\n', '\r', '\f', '\v':
		return true
	case '-':
		return i+1 < len(src) && src[i+1] == '-'
	case '/':
		return i+1 < len(src) && src[i+1] == '*'
	}
	return false
}

func vecWord(src string, i, end int) string {
	j := i + 1
	for j < end && !isVecSep(src, j) {
		j++
	}
	return src[i:j]
}

// vectorElement parses a signed decimal literal; the message completes
// "vector element …".
func vectorElement(w string) (float32, error) {
	if !isSignedNumber(w) {
		switch strings.ToLower(strings.TrimLeft(w, "+-")) {
		case "nan", "inf", "infinity":
			return 0, fmt.Errorf("%s is not allowed: vectors must be finite", w)
		}
		return 0, fmt.Errorf("%q is not a number", w)
	}
	// Rounded once, straight to float32, so that COPY, the text form and
	// literals store the same bits for the same text.
	f, err := strconv.ParseFloat(w, 32)
	if err != nil || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%s is out of range for float32", w)
	}
	return float32(f), nil
}

// isSignedNumber matches [+-]? (digits [. digits?] | . digits) ([eE] [+-]? digits)?.
func isSignedNumber(w string) bool {
	i := 0
	if i < len(w) && (w[i] == '+' || w[i] == '-') {
		i++
	}
	digits := 0
	for i < len(w) && isDigit(w[i]) {
		i++
		digits++
	}
	if i < len(w) && w[i] == '.' {
		i++
		for i < len(w) && isDigit(w[i]) {
			i++
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(w) && (w[i] == 'e' || w[i] == 'E') {
		i++
		if i < len(w) && (w[i] == '+' || w[i] == '-') {
			i++
		}
		exp := 0
		for i < len(w) && isDigit(w[i]) {
			i++
			exp++
		}
		if exp == 0 {
			return false
		}
	}
	return i == len(w)
}
