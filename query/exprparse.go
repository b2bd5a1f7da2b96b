package query

import (
	"errors"
	"strings"
	"sync"

	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"
)

// Expressions are parsed by hand, by precedence climbing over the tokens
// participle has already read, straight into AST nodes. participle's
// generic machinery (a branch per repetition, a deferred capture per token,
// nine nested productions per operand) cost about 1.5 KB and several µs per
// token, enough to make a 1 MiB statement take seconds; this parser
// allocates only the nodes it returns. Its grammar is exprEBNF, which
// EBNF() prints with participle's; the two must be kept in step.
//
// Only parentheses and prefix operators recurse, and stmtLexer has
// bounded both (MaxDepth) before parsing starts; binary chains are loops.

const exprEBNF = `Expr = AndExpr ("OR" AndExpr)* .
AndExpr = NotExpr ("AND" NotExpr)* .
NotExpr = "NOT"* CmpExpr .
CmpExpr = ConcatExpr CmpTail? .
CmpTail = (("=" | "!=" | "<>" | "<=" | ">=" | "<" | ">") ConcatExpr) | ("IS" "NOT"? "NULL") | InTail | BetweenTail | LikeTail | ("NOT" (InTail | BetweenTail | LikeTail)) .
InTail = "IN" "(" (SelectStmt | (Expr ("," Expr)*)) ")" .
BetweenTail = "BETWEEN" ConcatExpr "AND" ConcatExpr .
LikeTail = "LIKE" ConcatExpr .
ConcatExpr = AddExpr ("||" AddExpr)* .
AddExpr = MulExpr (("+" | "-") MulExpr)* .
MulExpr = UnaryExpr (("*" | "/" | "%") UnaryExpr)* .
UnaryExpr = ("-" | "+" | "√")* Primary .
Primary = (<int> | <float>) | <string> | <vector> | <param> | "NULL" | ("TRUE" | "FALSE") | Ref | Paren .
Ref = (<ident> | <qident>) (CallArgs | ("." (<ident> | <qident>)))? .
CallArgs = "(" ("*" | ("DISTINCT"? Expr ("," Expr)*))? ")" .
Paren = "(" (SelectStmt | Expr) ")" .
SelectItems = SelectItem ("," SelectItem)* .
SelectItem = "*" | (Expr ("AS" Name)?) .
ExprList = Expr ("," Expr)* .
OrderItems = OrderItem ("," OrderItem)* .
OrderItem = Expr ("ASC" | "DESC")? .
ValuesList = ValuesRow ("," ValuesRow)* .
ValuesRow = "(" Expr ("," Expr)* ")" .
`

// expr is one expression in the parse tree, already in AST form. Work that
// needs the whole statement is left to lowering: numbering "?" parameters
// and lowering subqueries, which participle parses.
type expr struct {
	X    Expr
	err  *Error       // the first lowering error inside (a number out of range…)
	qs   []*Param     // "?" parameters, numbered when lowering
	subs []pendingSub // subqueries to lower
}

type pendingSub struct {
	node *Subquery
	tree *selectStmt
}

// Parse implements participle.Parseable. An expression is never optional
// in the grammar (the "*" of a select item is tried first), so a token that
// cannot start one is an error here, worded "expected an expression".
func (e *expr) Parse(lex *lexer.PeekingLexer) error {
	p := getExprParser()
	defer p.release()
	p.rs.pl = lex
	p.lex, p.out = &p.rs, e
	x, err := p.topExpr()
	if err != nil {
		return err
	}
	e.X = x
	e.err = p.low.err
	return nil
}

// selectParser parses the subqueries inside expressions.
var selectParser = participle.MustBuild[selectStmt](parserOptions...)

// tokenSource is participle's PeekingLexer, or a scanSource. A token a
// source returns stays valid until three more have been taken.
type tokenSource interface {
	Peek() *lexer.Token
	Next() *lexer.Token
}

// scanSource lexes a piece of text as it is read, keeping no tokens.
type scanSource struct {
	s    scanner
	eof  lexer.Token
	ring [4]lexer.Token
	i    int
}

func newScanSource(t lexer.Token, eof lexer.Token) *scanSource {
	src := &scanSource{}
	src.reset(t, eof)
	return src
}

// reset starts reading the text of t (a tokValues or tokRun).
func (src *scanSource) reset(t lexer.Token, eof lexer.Token) {
	src.s = scanner{src: t.Value, line: t.Pos.Line, lineStart: -(t.Pos.Column - 1), base: t.Pos.Offset}
	src.eof = eof
	src.i = 0
	src.ring[0] = src.lex()
}

// firstToken is the first token of the text of t (a tokValues or tokRun).
func firstToken(t lexer.Token) lexer.Token {
	var src scanSource
	src.reset(t, lexer.Token{Type: tokEOF})
	return src.ring[0]
}

// runSource reads participle's tokens, and the tokens of each tokRun
// among them in its place. A run is entered only when its first token
// (an operator) is taken, so an expression that ends before a run leaves
// it to participle.
type runSource struct {
	pl     *lexer.PeekingLexer
	inRun  bool
	sc     scanSource
	head   lexer.Token  // the first token of the run at pl.Peek()
	headOf *lexer.Token // that run
}

func (r *runSource) Peek() *lexer.Token {
	if r.inRun {
		if t := r.sc.Peek(); !t.EOF() {
			return t
		}
		r.inRun = false
	}
	t := r.pl.Peek()
	if t.Type != tokRun {
		return t
	}
	if r.headOf != t {
		r.head, r.headOf = firstToken(*t), t
	}
	return &r.head
}

func (r *runSource) Next() *lexer.Token {
	if r.inRun {
		if t := r.sc.Peek(); !t.EOF() {
			return r.sc.Next()
		}
		r.inRun = false
	}
	t := r.pl.Next()
	if t.Type != tokRun {
		return t
	}
	r.sc.reset(*t, lexer.Token{Type: tokEOF})
	r.inRun = true
	return r.sc.Next()
}

// lex scans the next token; the text was lexed once already (stmtLexer),
// so it holds no errors.
func (src *scanSource) lex() lexer.Token {
	if src.s.skipSpace() != nil || src.s.off >= len(src.s.src) {
		return src.eof
	}
	t, err := src.s.next()
	if err != nil {
		return src.eof
	}
	return t
}

func (src *scanSource) Peek() *lexer.Token { return &src.ring[src.i] }

func (src *scanSource) Next() *lexer.Token {
	t := &src.ring[src.i]
	if t.EOF() {
		return t
	}
	src.i = (src.i + 1) % len(src.ring)
	src.ring[src.i] = src.lex()
	return t
}

// exprParsers are reused: a statement may hold many short expressions, and
// a parser with its token ring is a few hundred bytes.
var exprParsers = sync.Pool{New: func() any { return new(exprParser) }}

func getExprParser() *exprParser { return exprParsers.Get().(*exprParser) }

func (p *exprParser) release() {
	scratch := p.scratch
	if cap(scratch) > 1024 {
		scratch = nil
	} else {
		clear(scratch[:cap(scratch)])
	}
	*p = exprParser{scratch: scratch[:0]}
	exprParsers.Put(p)
}

type exprParser struct {
	rs      runSource // the source of an expr
	lex     tokenSource
	out     *expr
	low     lowerer // converts literals; collects their errors
	scratch []Expr  // lists being parsed, innermost last; each is copied out at its end

	// numbering: "?" are numbered as they are read (nq so far), rather
	// than by lowering; for VALUES rows, where they are most of a bulk
	// INSERT and the first of the statement.
	numbering bool
	nq        int
}

func (p *exprParser) peek() *lexer.Token { return p.lex.Peek() }

func isKeyword(t *lexer.Token, kw string) bool {
	return t.Type == tokKeyword && strings.EqualFold(t.Value, kw)
}

func isOp(t *lexer.Token, op string) bool { return t.Type == tokOp && t.Value == op }

// fail is a syntax error at the next token.
func (p *exprParser) fail(expected string) error {
	t := p.peek()
	return &Error{Pos: pos(t.Pos), Msg: "unexpected " + describeToken(*t) + ", expected " + expected}
}

// topExpr parses an expression that participle, or a list parsed by hand,
// continues after.
func (p *exprParser) topExpr() (Expr, error) {
	x, err := p.operand(p.expr)
	if err != nil {
		return nil, err
	}
	if p.lex == &p.rs && p.rs.inRun {
		// The expression ended inside a run (a = b = c): what is left of
		// it is as unexpected as it would be to participle.
		if t := p.rs.sc.Peek(); !t.EOF() {
			return nil, &participle.UnexpectedTokenError{Unexpected: *t}
		}
	}
	return x, nil
}

// canStart reports whether the next token can start an expression.
func (p *exprParser) canStart() bool {
	t := p.peek()
	switch t.Type {
	case tokInt, tokFloat, tokString, tokVector, tokParam, tokIdent, tokQIdent:
		return true
	case tokOp:
		switch t.Value {
		case "-", "+", "√", "(":
			return true
		}
	case tokKeyword:
		return isKeyword(t, "NOT") || isKeyword(t, "NULL") || isKeyword(t, "TRUE") || isKeyword(t, "FALSE")
	}
	return false
}

// operand parses what must follow an operator.
func (p *exprParser) operand(parse func() (Expr, error)) (Expr, error) {
	if !p.canStart() {
		return nil, p.fail("an expression")
	}
	return parse()
}

func (p *exprParser) expr() (Expr, error) {
	x, err := p.and()
	for err == nil && isKeyword(p.peek(), "OR") {
		at := pos(p.lex.Next().Pos)
		var y Expr
		if y, err = p.operand(p.and); err == nil {
			x = p.low.binary(at, "OR", x, y)
		}
	}
	return x, err
}

func (p *exprParser) and() (Expr, error) {
	x, err := p.not()
	for err == nil && isKeyword(p.peek(), "AND") {
		at := pos(p.lex.Next().Pos)
		var y Expr
		if y, err = p.operand(p.not); err == nil {
			x = p.low.binary(at, "AND", x, y)
		}
	}
	return x, err
}

func (p *exprParser) not() (Expr, error) {
	var nots []Pos
	for isKeyword(p.peek(), "NOT") {
		nots = append(nots, pos(p.lex.Next().Pos))
	}
	x, err := p.operand(p.cmp)
	if err != nil {
		return nil, err
	}
	for i := len(nots) - 1; i >= 0; i-- {
		x = &Unary{At: nots[i], Op: "NOT", X: x}
	}
	return x, nil
}

func (p *exprParser) cmp() (Expr, error) {
	x, err := p.concat()
	if err != nil {
		return nil, err
	}
	t := p.peek()
	at := pos(t.Pos)
	switch {
	case t.Type == tokOp:
		switch op := t.Value; op {
		case "=", "!=", "<>", "<=", ">=", "<", ">":
			p.lex.Next()
			y, err := p.operand(p.concat)
			if err != nil {
				return nil, err
			}
			if op == "<>" {
				op = "!="
			}
			return p.low.binary(at, op, x, y), nil
		}
	case isKeyword(t, "IS"):
		p.lex.Next()
		not := false
		if isKeyword(p.peek(), "NOT") {
			p.lex.Next()
			not = true
		}
		if !isKeyword(p.peek(), "NULL") {
			if not {
				return nil, p.fail("NULL")
			}
			return nil, p.fail("NOT or NULL")
		}
		p.lex.Next()
		return &IsNull{At: at, X: x, Not: not}, nil
	case isKeyword(t, "NOT"):
		p.lex.Next()
		if y, ok, err := p.cmpTail(at, x, true); ok || err != nil {
			return y, err
		}
		return nil, p.fail("IN, BETWEEN or LIKE")
	}
	if y, ok, err := p.cmpTail(at, x, false); ok || err != nil {
		return y, err
	}
	return x, nil
}

// cmpTail parses IN, BETWEEN or LIKE and what follows; ok is false when
// the next token is none of them.
func (p *exprParser) cmpTail(at Pos, x Expr, not bool) (Expr, bool, error) {
	t := p.peek()
	switch {
	case isKeyword(t, "IN"):
		p.lex.Next()
		if !isOp(p.peek(), "(") {
			return nil, true, p.fail(`"("`)
		}
		open := p.lex.Next()
		n := &In{At: at, X: x, Not: not}
		if p.startsSelect() {
			sq, err := p.subquery(*open)
			if err != nil {
				return nil, true, err
			}
			n.List = []Expr{sq}
			return n, true, nil
		}
		list, err := p.list()
		if err != nil {
			return nil, true, err
		}
		n.List = list
		return n, true, p.close()
	case isKeyword(t, "BETWEEN"):
		p.lex.Next()
		lo, err := p.operand(p.concat)
		if err != nil {
			return nil, true, err
		}
		if !isKeyword(p.peek(), "AND") {
			return nil, true, p.fail("AND")
		}
		p.lex.Next()
		hi, err := p.operand(p.concat)
		if err != nil {
			return nil, true, err
		}
		return &Between{At: at, X: x, Lo: lo, Hi: hi, Not: not}, true, nil
	case isKeyword(t, "LIKE"):
		p.lex.Next()
		pat, err := p.operand(p.concat)
		if err != nil {
			return nil, true, err
		}
		return &Like{At: at, X: x, Pattern: pat, Not: not}, true, nil
	}
	return nil, false, nil
}

// list parses Expr ("," Expr)* into a slice of exactly its length.
func (p *exprParser) list() ([]Expr, error) {
	mark := len(p.scratch)
	defer func() { p.scratch = p.scratch[:mark] }()
	for {
		x, err := p.operand(p.expr)
		if err != nil {
			return nil, err
		}
		p.scratch = append(p.scratch, x)
		if !isOp(p.peek(), ",") {
			break
		}
		p.lex.Next()
	}
	return append([]Expr(nil), p.scratch[mark:]...), nil
}

// valuesList is the rows of INSERT … VALUES, parsed by hand like
// expressions: a bulk INSERT is most of the long statements there are.
type valuesList struct {
	Rows [][]Expr
	acc  expr // the rows' "?" parameters, subqueries and first lowering error
}

// Parse implements participle.Parseable: Row ("," Row)*, Row = "(" Expr ("," Expr)* ")".
func (v *valuesList) Parse(lex *lexer.PeekingLexer) error {
	p := getExprParser()
	defer p.release()
	p.rs.pl = lex
	p.lex, p.out = &p.rs, &v.acc
	if t := lex.Peek(); t.Type == tokValues {
		lex.Next()
		p.rs.sc.reset(*t, *lex.Peek())
		p.lex = &p.rs.sc
		// An INSERT has no "?" before VALUES.
		p.numbering = true
	}
	var rows gather[[]Expr]
	for {
		if !isOp(p.peek(), "(") {
			return p.fail(`"("`)
		}
		p.lex.Next()
		row, err := p.list()
		if err != nil {
			return err
		}
		if err := p.close(); err != nil {
			return err
		}
		rows.add(row)
		if !isOp(p.peek(), ",") {
			break
		}
		p.lex.Next()
	}
	v.Rows = rows.slice()
	if err := p.listEnd(); err != nil {
		return err
	}
	v.acc.err = p.low.err
	return nil
}

func (p *exprParser) close() error {
	if !isOp(p.peek(), ")") {
		return p.fail(`")"`)
	}
	p.lex.Next()
	return nil
}

func (p *exprParser) concat() (Expr, error) {
	x, err := p.add()
	for err == nil && isOp(p.peek(), "||") {
		at := pos(p.lex.Next().Pos)
		var y Expr
		if y, err = p.operand(p.add); err == nil {
			x = p.low.binary(at, "||", x, y)
		}
	}
	return x, err
}

func (p *exprParser) add() (Expr, error) {
	x, err := p.mul()
	for err == nil {
		t := p.peek()
		if !isOp(t, "+") && !isOp(t, "-") {
			break
		}
		at, op := pos(t.Pos), t.Value
		p.lex.Next()
		var y Expr
		if y, err = p.operand(p.mul); err == nil {
			x = p.low.binary(at, op, x, y)
		}
	}
	return x, err
}

func (p *exprParser) mul() (Expr, error) {
	x, err := p.unary()
	for err == nil {
		t := p.peek()
		if !isOp(t, "*") && !isOp(t, "/") && !isOp(t, "%") {
			break
		}
		at, op := pos(t.Pos), t.Value
		p.lex.Next()
		var y Expr
		if y, err = p.operand(p.unary); err == nil {
			x = p.low.binary(at, op, x, y)
		}
	}
	return x, err
}

// unary applies prefix operators innermost first. A minus written directly
// before a number is folded into the literal, so -9223372036854775808 is an
// INT and -2.5 a FloatLit; Format relies on this to round-trip.
func (p *exprParser) unary() (Expr, error) {
	var ops []lexer.Token
	for t := p.peek(); isOp(t, "-") || isOp(t, "+") || isOp(t, "√"); t = p.peek() {
		ops = append(ops, *p.lex.Next())
	}
	var x Expr
	if t := p.peek(); len(ops) > 0 && ops[len(ops)-1].Value == "-" && (t.Type == tokInt || t.Type == tokFloat) {
		p.lex.Next()
		x = p.low.number(ops[len(ops)-1].Pos, "-"+t.Value, t.Type)
		ops = ops[:len(ops)-1]
	} else {
		var err error
		if x, err = p.primary(); err != nil {
			return nil, err
		}
	}
	for i := len(ops) - 1; i >= 0; i-- {
		at := pos(ops[i].Pos)
		if ops[i].Value == "√" {
			x = &Call{At: at, Name: "sqrt", Args: []Expr{x}}
		} else {
			x = &Unary{At: at, Op: ops[i].Value, X: x}
		}
	}
	return x, nil
}

func (p *exprParser) primary() (Expr, error) {
	t := p.peek()
	at := pos(t.Pos)
	switch t.Type {
	case tokInt, tokFloat:
		p.lex.Next()
		return p.low.number(t.Pos, t.Value, t.Type), nil
	case tokString:
		p.lex.Next()
		return &StringLit{At: at, Value: unquote(t.Value)}, nil
	case tokVector:
		p.lex.Next()
		return p.low.vector(*t), nil
	case tokParam:
		p.lex.Next()
		if t.Value == "?" {
			if p.numbering {
				p.nq++
				return &Param{At: at, Index: p.nq}, nil
			}
			q := &Param{At: at}
			p.out.qs = append(p.out.qs, q)
			return q, nil
		}
		return p.low.param(*t), nil
	case tokKeyword:
		switch {
		case isKeyword(t, "NULL"):
			p.lex.Next()
			return &NullLit{At: at}, nil
		case isKeyword(t, "TRUE"), isKeyword(t, "FALSE"):
			p.lex.Next()
			return &BoolLit{At: at, Value: isKeyword(t, "TRUE")}, nil
		}
	case tokIdent, tokQIdent:
		p.lex.Next()
		return p.ref(*t)
	case tokOp:
		if t.Value == "(" {
			p.lex.Next()
			if p.startsSelect() {
				return p.subquery(*t)
			}
			x, err := p.operand(p.expr)
			if err != nil {
				return nil, err
			}
			return x, p.close()
		}
	}
	return nil, p.fail("an expression")
}

// ref is a column reference or, followed by "(", a function call.
func (p *exprParser) ref(name lexer.Token) (Expr, error) {
	at := pos(name.Pos)
	switch t := p.peek(); {
	case isOp(t, "("):
		p.lex.Next()
		c := &Call{At: at, Name: strings.ToLower(identText(name))}
		switch t := p.peek(); {
		case isOp(t, "*"):
			p.lex.Next()
			c.Star = true
		case isKeyword(t, "DISTINCT"):
			p.lex.Next()
			c.Distinct = true
			args, err := p.list()
			if err != nil {
				return nil, err
			}
			c.Args = args
		case p.canStart():
			args, err := p.list()
			if err != nil {
				return nil, err
			}
			c.Args = args
		case !isOp(t, ")"):
			return nil, p.fail(`")"`)
		}
		return c, p.close()
	case isOp(t, "."):
		p.lex.Next()
		col := p.peek()
		if col.Type != tokIdent && col.Type != tokQIdent {
			return nil, p.fail("a name")
		}
		p.lex.Next()
		return &ColumnRef{At: at, Table: identText(name), Name: identText(*col)}, nil
	}
	return &ColumnRef{At: at, Name: identText(name)}, nil
}

func (p *exprParser) startsSelect() bool {
	t := p.peek()
	return isKeyword(t, "SELECT") || isKeyword(t, "HARD") || isKeyword(t, "SOFT")
}

// subquery parses the SELECT after open, up to its closing ")", with
// participle; the tree is lowered with the rest of the statement.
func (p *exprParser) subquery(open lexer.Token) (Expr, error) {
	var toks []lexer.Token
	depth := 0
	for {
		t := p.peek()
		if t.EOF() || depth == 0 && isOp(t, ")") {
			break
		}
		if isOp(t, "(") {
			depth++
		} else if isOp(t, ")") {
			depth--
		}
		t = p.lex.Next()
		if t.Type == tokParam && t.Value == "?" {
			p.nq++ // numbered by the subquery's own lowering
		}
		toks = append(toks, *t)
	}
	end := *p.peek()
	if !end.EOF() { // the ")" ends the subquery's text
		end.Type = tokEOF
	}
	pl, err := lexer.Upgrade(&sliceLexer{toks: toks, eof: end})
	if err != nil {
		return nil, convertError(err)
	}
	tree, err := selectParser.ParseFromLexer(pl)
	if err != nil {
		// A token the SELECT cannot take where it could have ended: the
		// subquery should have been closed there.
		var ue *participle.UnexpectedTokenError
		if errors.As(err, &ue) && !strings.Contains(ue.Message(), "(expected ") {
			return nil, &Error{Pos: pos(ue.Unexpected.Pos), Msg: "unexpected " + describeToken(ue.Unexpected) + `, expected ")"`}
		}
		return nil, convertError(err)
	}
	sq := &Subquery{At: pos(open.Pos)}
	p.out.subs = append(p.out.subs, pendingSub{sq, tree})
	return sq, p.close()
}

// listSource is where a hand-parsed list reads from: the text of a
// tokList token if participle's next token is one (the whole list, see
// stmtLexer.list), else participle's tokens.
func (p *exprParser) listSource(lex *lexer.PeekingLexer) {
	p.rs.pl = lex
	p.lex = &p.rs
	if t := lex.Peek(); t.Type == tokList {
		lex.Next()
		p.rs.sc.reset(*t, lexer.Token{Type: tokEOF, Pos: lex.Peek().Pos})
		p.lex = &p.rs.sc
	}
}

// listEnd checks that a list read from a tokList took all of it.
func (p *exprParser) listEnd() error {
	if p.lex == &p.rs.sc {
		if t := p.peek(); !t.EOF() {
			return &participle.UnexpectedTokenError{Unexpected: *t}
		}
	}
	return nil
}

// parseList reads item ("," item)* into out, by hand from a tokList or
// token by token from participle's lexer, for a Parseable list whose
// errors go to acc.
func parseList[T any](lex *lexer.PeekingLexer, acc *expr, out *[]T, item func(p *exprParser) (T, error)) error {
	p := getExprParser()
	defer p.release()
	p.out = acc
	p.listSource(lex)
	var items gather[T]
	defer func() { *out = items.slice() }()
	for {
		it, err := item(p)
		if err != nil {
			return err
		}
		items.add(it)
		if !isOp(p.peek(), ",") {
			break
		}
		p.lex.Next()
	}
	acc.err = p.low.err
	return p.listEnd()
}

// selectItems is the list after SELECT.
type selectItems struct {
	Items []SelectItem
	acc   expr
}

// Parse implements participle.Parseable: SelectItem ("," SelectItem)*.
func (v *selectItems) Parse(lex *lexer.PeekingLexer) error {
	return parseList(lex, &v.acc, &v.Items, func(p *exprParser) (SelectItem, error) {
		t := p.peek()
		it := SelectItem{At: pos(t.Pos)}
		if isOp(t, "*") {
			p.lex.Next()
			it.Star = true
			return it, nil
		}
		x, err := p.topExpr()
		if err != nil {
			return it, err
		}
		it.Expr = x
		if isKeyword(p.peek(), "AS") {
			p.lex.Next()
			n := p.peek()
			if n.Type != tokIdent && n.Type != tokQIdent {
				return it, p.fail("a name")
			}
			it.Alias = identText(*p.lex.Next())
		}
		return it, nil
	})
}

// exprList is the list after GROUP BY.
type exprList struct {
	Items []Expr
	acc   expr
}

// Parse implements participle.Parseable: Expr ("," Expr)*.
func (v *exprList) Parse(lex *lexer.PeekingLexer) error {
	return parseList(lex, &v.acc, &v.Items, (*exprParser).topExpr)
}

// orderItems is the list after ORDER BY.
type orderItems struct {
	Items []OrderItem
	acc   expr
}

// Parse implements participle.Parseable: OrderItem ("," OrderItem)*.
func (v *orderItems) Parse(lex *lexer.PeekingLexer) error {
	return parseList(lex, &v.acc, &v.Items, func(p *exprParser) (OrderItem, error) {
		x, err := p.topExpr()
		if err != nil {
			return OrderItem{}, err
		}
		it := OrderItem{Expr: x}
		if t := p.peek(); isKeyword(t, "DESC") {
			p.lex.Next()
			it.Desc = true
		} else if isKeyword(t, "ASC") {
			p.lex.Next()
		}
		return it, nil
	})
}

// gather collects a list in chunks and copies it once into a slice of its
// length: append would allocate a long list about five times over.
type gather[T any] struct {
	chunks [][]T
	cur    []T
	n      int
}

func (g *gather[T]) add(x T) {
	if len(g.cur) == cap(g.cur) {
		if g.cur != nil {
			g.chunks = append(g.chunks, g.cur)
		}
		g.cur = make([]T, 0, min(max(2*cap(g.cur), 4), 1<<14))
	}
	g.cur = append(g.cur, x)
	g.n++
}

func (g *gather[T]) slice() []T {
	if g.chunks == nil {
		return g.cur
	}
	out := make([]T, 0, g.n)
	for _, c := range g.chunks {
		out = append(out, c...)
	}
	return append(out, g.cur...)
}
