package query

import (
	"strings"

	"github.com/alecthomas/participle/v2/lexer"
)

// parseSpan lexes and parses the statement from s.off to end (its ";" or
// the end of the text); it returns nil, nil when there are only comments.
// participle reads the tokens straight from the scanner, and stmtLexer
// bounds nesting before participle recurses on it.
//
// stmtLexer hands participle some stretches of an expression or list as a
// single token, which the hand parser reads back (see stmtLexer.chain and
// list). On valid text that changes nothing but the cost; on a syntax
// error the words can differ (participle no longer sees the token it
// would have stopped at), so a statement of up to fallbackLen bytes is
// parsed again token by token for its error.
func parseSpan(s *scanner, end int) (Statement, error) {
	start := *s
	st, err, retry := parseSpanMode(s, end, false)
	if retry && end-start.off <= fallbackLen {
		*s = start
		st, err, _ = parseSpanMode(s, end, true)
	}
	return st, err
}

const fallbackLen = 64 << 10

// parseSpanMode is parseSpan with stretches handed over whole (plain
// false) or not. retry reports a syntax error in a statement that had
// stretches handed over.
func parseSpanMode(s *scanner, end int, plain bool) (st Statement, err error, retry bool) {
	l := &lowerer{}
	sl := &stmtLexer{s: s, end: end, low: l, plain: plain}
	pl, perr := lexer.Upgrade(sl)
	if perr != nil {
		return nil, convertError(perr), false
	}
	if pl.Peek().EOF() {
		return nil, nil, false
	}
	defer func() {
		// The grammar should never make participle panic; if it does, the
		// caller still gets an error rather than a crash.
		if r := recover(); r != nil {
			st, err, retry = nil, lexErr(sl.first, "internal parser error: %v", r), sl.collapsed
		}
	}()
	tree, perr := parseTree(pl)
	if perr != nil {
		return nil, convertError(perr), sl.collapsed
	}
	st = l.statement(tree)
	if l.err != nil {
		return nil, l.err, false
	}
	return st, nil, false
}

// stmtLexer hands participle one statement's tokens as it scans them, and
// checks what must hold before parsing starts: nesting within MaxDepth,
// "?" parameters numbered in text order, no mix of ? and $n.
type stmtLexer struct {
	s     *scanner
	end   int
	low   *lowerer
	first lexer.Position

	n, depth, run, qs int
	dollar            bool
	plain             bool          // hand over every token as it is
	collapsed         bool          // some stretch went as one token
	prev              lexer.Token   // the last token handed over
	queue             []lexer.Token // scanned, not yet handed over
	ahead             []lexer.Token // put back by unraw
	afterOperand      bool          // the last token handed over ends an operand
}

func (x *stmtLexer) Next() (lexer.Token, error) {
	if len(x.queue) > 0 {
		t := x.queue[0]
		x.queue = x.queue[1:]
		return x.emit(t), nil
	}
	t, err := x.raw()
	if err != nil || x.plain {
		return x.emit(t), err
	}
	switch {
	case isKeyword(&t, "VALUES"):
		return x.emit(t), x.values()
	case isKeyword(&t, "SELECT"):
		return x.emit(t), x.list(selectListWord)
	case isKeyword(&t, "BY") && isKeyword(&x.prev, "GROUP"):
		return x.emit(t), x.list(groupByWord)
	case isKeyword(&t, "BY") && isKeyword(&x.prev, "ORDER"):
		return x.emit(t), x.list(orderByWord)
	case x.afterOperand && isRunOp(&t):
		r, err := x.chain(t)
		return x.emit(r), err
	}
	return x.emit(t), nil
}

func (x *stmtLexer) emit(t lexer.Token) lexer.Token {
	x.afterOperand = t.Type == tokRun || endsOperand(&t)
	x.prev = t
	if t.Type == tokRun || t.Type == tokList || t.Type == tokValues {
		x.collapsed = true
	}
	return t
}

// list hands over the list after SELECT, GROUP BY or ORDER BY as one
// tokList token, read back by selectItems, exprList or orderItems. The
// list runs to the first token outside parentheses that cannot be in it: a
// ")" closing a subquery, the end of the statement, or a reserved word
// other than those inList accepts (FROM, WHERE, GROUP, LIMIT…). Inside
// parentheses anything goes, so subqueries go whole.
func (x *stmtLexer) list(inList func(kw string) bool) error {
	depth, start, end := 0, -1, 0
	var first lexer.Position
	for {
		t, err := x.raw()
		if err != nil {
			return err
		}
		if t.EOF() || depth == 0 && (isOp(&t, ")") || t.Type == tokKeyword && !inList(strings.ToUpper(t.Value))) {
			x.unraw(t)
			break
		}
		if start < 0 {
			start, first = t.Pos.Offset, t.Pos
		}
		end = tokenEnd(&t)
		if isOp(&t, "(") {
			depth++
		} else if isOp(&t, ")") {
			depth--
		}
	}
	if start >= 0 {
		x.queue = append(x.queue, lexer.Token{Type: tokList, Value: x.text(start, end), Pos: first})
	}
	return nil
}

// The reserved words an expression may hold outside parentheses, and
// those a list adds.
func exprWord(kw string) bool {
	switch kw {
	case "AND", "OR", "NOT", "IS", "NULL", "IN", "BETWEEN", "LIKE", "TRUE", "FALSE":
		return true
	}
	return false
}

func selectListWord(kw string) bool { return kw == "AS" || exprWord(kw) }
func groupByWord(kw string) bool    { return exprWord(kw) }
func orderByWord(kw string) bool    { return kw == "ASC" || kw == "DESC" || exprWord(kw) }

// unraw puts back a token raw returned.
func (x *stmtLexer) unraw(t lexer.Token) { x.ahead = append(x.ahead, t) }

// raw scans and checks the next token, or returns the statement's EOF.
func (x *stmtLexer) raw() (lexer.Token, error) {
	if n := len(x.ahead); n > 0 {
		t := x.ahead[n-1]
		x.ahead = x.ahead[:n-1]
		return t, nil
	}
	if err := x.s.skipSpace(); err != nil {
		return lexer.Token{}, err
	}
	if x.s.off >= x.end {
		x.s.advance(x.end)
		if x.end < len(x.s.src) {
			return lexer.Token{Type: tokEOF, Value: ";", Pos: x.s.pos()}, nil
		}
		return lexer.EOFToken(x.s.pos()), nil
	}
	t, err := x.s.next()
	if err != nil {
		return t, err
	}
	if x.n == 0 {
		x.first = t.Pos
	}
	x.n++
	return t, x.check(&t)
}

// chain collapses what follows an operand, such as "+ 1 + 1 + 1" or
// "OR a = 2 OR a = 3" or "IN (1, 2, 3)", into one tokRun token, which the
// expression parser (runSource) reads as the tokens it holds. op is the
// first operator. Outside expressions the grammar never puts these
// operators after an operand, so such a chain is always inside one
// expression; where the grammar has an error there, participle finds the
// run as unexpected as its first operator, and describeToken says so in
// the same words. A run is a sequence of operator and operand: an operand
// is prefix operators and then a literal, a name, a call, a qualified name
// or a parenthesised group, taken whole.
func (x *stmtLexer) chain(op lexer.Token) (lexer.Token, error) {
	end := -1 // just past the last operand in the run
	cur := op
	for {
		oend, ok, scanned, err := x.operand(cur)
		if err != nil {
			return cur, err
		}
		if !ok {
			x.queue = append(x.queue, cur)
			x.queue = append(x.queue, scanned...)
			break
		}
		end = oend
		next, err := x.raw()
		if err != nil {
			return next, err
		}
		if !continuesRun(&next) {
			x.queue = append(x.queue, next)
			break
		}
		cur = next
	}
	if end < 0 {
		t := x.queue[0]
		x.queue = x.queue[1:]
		return t, nil
	}
	return lexer.Token{Type: tokRun, Value: x.text(op.Pos.Offset, end), Pos: op.Pos}, nil
}

// operand scans the operand after op. ok: it is whole, and end is the
// offset just past it; otherwise scanned are the tokens read, to be handed
// over one by one.
func (x *stmtLexer) operand(op lexer.Token) (end int, ok bool, scanned []lexer.Token, err error) {
	t, err := x.raw()
	if err != nil {
		return 0, false, nil, err
	}
	group := isKeyword(&op, "IN") // IN takes a parenthesised list only
	if !group {
		logical := isKeyword(&op, "AND") || isKeyword(&op, "OR")
		for isOp(&t, "-") || isOp(&t, "+") || isOp(&t, "√") || logical && isKeyword(&t, "NOT") {
			scanned = append(scanned, t)
			if t, err = x.raw(); err != nil {
				return 0, false, nil, err
			}
		}
	}
	switch {
	case isOp(&t, "("):
		end, err := x.group(&t)
		return end, err == nil, nil, err
	case group:
	case t.Type == tokIdent || t.Type == tokQIdent:
		// A name may be the start of a call or of a qualified name.
		n, err := x.raw()
		if err != nil {
			return 0, false, nil, err
		}
		switch {
		case isOp(&n, "("):
			end, err := x.group(&n)
			return end, err == nil, nil, err
		case isOp(&n, "."):
			c, err := x.raw()
			if err != nil {
				return 0, false, nil, err
			}
			if c.Type == tokIdent || c.Type == tokQIdent {
				return tokenEnd(&c), true, nil, nil
			}
			return 0, false, append(scanned, t, n, c), nil
		}
		x.unraw(n)
		return tokenEnd(&t), true, nil, nil
	case simpleOperand(&t):
		return tokenEnd(&t), true, nil, nil
	}
	return 0, false, append(scanned, t), nil
}

// tokenEnd is the offset just past t. Offsets are the script's (the
// scanner's base added), so text slices the statement by them.
func tokenEnd(t *lexer.Token) int { return t.Pos.Offset + len(t.Value) }

// text is the statement's text between two of the script's offsets.
func (x *stmtLexer) text(from, to int) string { return x.s.src[from-x.s.base : to-x.s.base] }

// group scans past the ")" that closes open, just read, or to the end of
// the statement, and returns the offset past the last token.
func (x *stmtLexer) group(open *lexer.Token) (int, error) {
	depth := 1
	end := tokenEnd(open)
	for {
		t, err := x.raw()
		if err != nil {
			return 0, err
		}
		if t.EOF() {
			x.unraw(t)
			return end, nil
		}
		end = tokenEnd(&t)
		if isOp(&t, "(") {
			depth++
		} else if isOp(&t, ")") {
			if depth--; depth == 0 {
				return end, nil
			}
		}
	}
}

// isRunOp: the operators that, after an operand, can only continue an
// expression, and so may start a run.
func isRunOp(t *lexer.Token) bool {
	switch t.Type {
	case tokOp:
		switch t.Value {
		case "+", "-", "*", "/", "%", "||", "<", ">", "<=", ">=", "!=", "<>":
			return true
		}
	case tokKeyword:
		return isKeyword(t, "AND") || isKeyword(t, "OR") || isKeyword(t, "IN")
	}
	return false
}

// continuesRun: inside a run "=" is a comparison too (at the start of one
// it may be UPDATE's assignment).
func continuesRun(t *lexer.Token) bool {
	return isRunOp(t) || isOp(t, "=")
}

// simpleOperand is a one-token operand (not a name followed by "(" or ".").
func simpleOperand(t *lexer.Token) bool {
	switch t.Type {
	case tokInt, tokFloat, tokString, tokVector, tokParam, tokIdent, tokQIdent:
		return true
	case tokKeyword:
		return strings.EqualFold(t.Value, "NULL") || strings.EqualFold(t.Value, "TRUE") || strings.EqualFold(t.Value, "FALSE")
	}
	return false
}

// endsOperand: a token after which a binary operator continues an
// expression.
func endsOperand(t *lexer.Token) bool {
	return simpleOperand(t) || t.Type == tokOp && t.Value == ")"
}

// values scans the rest of the statement after VALUES, checking its tokens
// but keeping none: participle gets them as one tokValues token, which
// valuesList parses by lexing its text again. A bulk INSERT is thus never
// held as a slice of tokens (64 bytes each, and participle's own copy
// grows by append).
func (x *stmtLexer) values() error {
	start := -1
	var first lexer.Position
	tokEnd := 0
	for {
		if err := x.s.skipSpace(); err != nil {
			return err
		}
		if x.s.off >= x.end {
			break
		}
		t, err := x.s.next()
		if err != nil {
			return err
		}
		if err := x.check(&t); err != nil {
			return err
		}
		if start < 0 {
			start, first = t.Pos.Offset, t.Pos
		}
		tokEnd = tokenEnd(&t)
	}
	if start >= 0 {
		x.queue = append(x.queue, lexer.Token{Type: tokValues, Value: x.text(start, tokEnd), Pos: first})
	}
	return nil
}

// check bounds nesting and numbers "?" parameters.
func (x *stmtLexer) check(t *lexer.Token) error {
	switch t.Type {
	case tokOp:
		switch t.Value {
		case "(":
			x.depth++
		case ")":
			x.depth = max(x.depth-1, 0)
		}
	case tokParam:
		if t.Value == "?" {
			x.qs++
			x.low.params = append(x.low.params, t.Pos.Offset)
			if x.dollar {
				return lexErr(t.Pos, "cannot mix ? and $n parameters in one statement")
			}
		} else {
			if x.qs > 0 {
				return lexErr(t.Pos, "cannot mix ? and $n parameters in one statement")
			}
			x.dollar = true
		}
	}
	if isPrefixOp(t) {
		x.run++
	} else {
		x.run = 0
	}
	if x.depth+x.run > MaxDepth {
		return lexErr(t.Pos, "expression is nested too deeply (the limit is %d levels)", MaxDepth)
	}
	return nil
}

func isPrefixOp(t *lexer.Token) bool {
	switch t.Type {
	case tokOp:
		return t.Value == "-" || t.Value == "+" || t.Value == "√"
	case tokKeyword:
		return strings.EqualFold(t.Value, "NOT")
	}
	return false
}
