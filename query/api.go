package query

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"
)

// Parse parses a script of ";"-separated statements. The final ";" is
// optional and empty statements are skipped. "?" parameters are numbered
// from 1 in each statement. Every error is a *Error; the first error in the
// text is the one returned.
//
// Each statement is measured before it is lexed (see MaxStatementLen), and
// lexed and parsed on its own, so the work is linear in the text.
func Parse(src string) ([]Statement, error) {
	var out []Statement
	s := scanner{src: src, line: 1}
	if strings.HasPrefix(src, "\uFEFF") { // a byte order mark from an editor
		s.off, s.lineStart = 3, 3
	}
	for {
		sp := nextSpan(src, s.off, MaxStatementLen)
		if sp.tooLong {
			s.advance(sp.start)
			return nil, lexErr(s.pos(), "statement is too long (the limit is %d bytes)", MaxStatementLen)
		}
		if s.off < sp.end { // also when only comments: one may be unterminated
			st, err := parseSpan(&s, sp.end)
			if err != nil {
				return nil, err
			}
			if st != nil {
				out = append(out, st)
			}
		}
		if sp.end >= len(src) {
			return out, nil
		}
		s.advance(sp.end + 1)
	}
}

// ParseOne parses exactly one statement (a trailing ";" is allowed).
func ParseOne(src string) (Statement, error) {
	stmts, err := Parse(src)
	if err != nil {
		return nil, err
	}
	switch len(stmts) {
	case 0:
		return nil, &Error{Pos: pos(endPos(src)), Msg: "no statement"}
	case 1:
		return stmts[0], nil
	}
	return nil, &Error{Pos: stmts[1].Position(), Msg: "expected one statement, found more"}
}

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
	tree, perr := parser.ParseFromLexer(pl)
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
		x.queue = append(x.queue, lexer.Token{Type: tokList, Value: x.s.src[start:end], Pos: first})
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
	return lexer.Token{Type: tokRun, Value: x.s.src[op.Pos.Offset:end], Pos: op.Pos}, nil
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

func tokenEnd(t *lexer.Token) int { return t.Pos.Offset + len(t.Value) }

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
		tokEnd = x.s.off
	}
	if start >= 0 {
		x.queue = append(x.queue, lexer.Token{Type: tokValues, Value: x.s.src[start:tokEnd], Pos: first})
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

// convertError rewords participle's errors as "unexpected X, expected Y".
func convertError(err error) *Error {
	var qe *Error
	if errors.As(err, &qe) {
		return qe
	}
	var ue *participle.UnexpectedTokenError
	if errors.As(err, &ue) {
		msg := "unexpected " + describeToken(ue.Unexpected)
		if exp := expectation(ue.Message()); exp != "" {
			msg += ", expected " + exp
		} else if s := suggest(ue.Unexpected); s != "" {
			msg += " (did you mean " + s + "?)"
		}
		return &Error{Pos: pos(ue.Unexpected.Pos), Msg: msg}
	}
	var pe participle.Error
	if errors.As(err, &pe) {
		return &Error{Pos: pos(pe.Position()), Msg: pe.Message()}
	}
	return &Error{Pos: Pos{Line: 1, Col: 1}, Msg: err.Error()}
}

func describeToken(t lexer.Token) string {
	switch {
	case t.Type == tokEOF && t.Value != "": // a ";", or the ")" after a subquery
		return strconv.Quote(t.Value)
	case t.Type == tokEOF:
		return "end of input"
	case t.Type == tokString:
		return "string " + clip(t.Value)
	case t.Type == tokVector:
		return "vector " + clip(t.Value)
	case t.Type == tokRun:
		return fmt.Sprintf("%q", firstToken(t).Value)
	case t.Type == tokValues || t.Type == tokList:
		return fmt.Sprintf("%q", clip(strings.TrimRight(t.Value[:strings.IndexAny(t.Value+" ", " \t\r\n")], ",")))
	}
	return fmt.Sprintf("%q", clip(t.Value))
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:37] + "..."
	}
	return s
}

// Friendly names for productions that would otherwise expand into long
// lists; other productions are described by what they start with.
var productionNames = map[string]string{
	"Name": "a name", "expr": "an expression", "valuesList": `"("`, "selectItems": "an expression or *", "exprList": "an expression", "orderItems": "an expression", "<ident>": "a name", "<qident>": "a name", "<keyword>": "a keyword",
	"Expr": "an expression", "AndExpr": "an expression", "NotExpr": "an expression",
	"CmpExpr": "an expression", "ConcatExpr": "an expression", "AddExpr": "an expression",
	"MulExpr": "an expression", "UnaryExpr": "an expression", "Primary": "an expression",
	"OrderItem": "an expression", "SelectItem": "an expression or *", "TypeName": "a type",
	"TableElem": "a column definition", "ColumnDef": "a column definition",
	"CopyOption": "an option", "StrLit": "a string", "<string>": "a string",
	"<int>": "an integer", "<float>": "a number", "<vector>": "a vector", "<param>": "a parameter",
	"Assign": "a column name",
}

var (
	rulesOnce sync.Once
	rules     map[string]string // production name → right-hand side
)

func productionRHS(name string) string {
	rulesOnce.Do(func() {
		rules = map[string]string{}
		for _, line := range strings.Split(grammarEBNF(), "\n") {
			if k, v, ok := strings.Cut(line, " = "); ok {
				rules[k] = strings.TrimSuffix(v, " .")
			}
		}
	})
	return rules[name]
}

// expectation turns the EBNF in participle's "(expected …)" into words: what
// the failed sequence could have started with, e.g. FROM or "an expression".
func expectation(msg string) string {
	i := strings.Index(msg, " (expected ")
	if i < 0 || !strings.HasSuffix(msg, ")") {
		return ""
	}
	e := strings.TrimSpace(msg[i+len(" (expected ") : len(msg)-1])
	var words []string
	seen := map[string]bool{}
	for _, w := range describeTerms(firstTerms(e), 0) {
		if w == "" {
			return ""
		}
		if !seen[w] {
			seen[w] = true
			words = append(words, w)
		}
	}
	switch len(words) {
	case 0:
		return ""
	case 1:
		return words[0]
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

// firstTerms returns the terms that can start the EBNF sequence e:
// `"FROM" Name …` → ["FROM"], `"EXPLAIN"? (A | B)` → ["EXPLAIN", A, B].
func firstTerms(e string) []string {
	if alts := splitAlts(e); len(alts) > 1 {
		var out []string
		for _, a := range alts {
			out = append(out, firstTerms(a)...)
		}
		return out
	}
	var out []string
	for {
		e = strings.TrimSpace(e)
		if e == "" {
			return out
		}
		var term, rest string
		switch e[0] {
		case '(':
			end := groupEnd(e)
			if end < 0 {
				return nil
			}
			for _, alt := range splitAlts(e[1:end]) {
				out = append(out, firstTerms(alt)...)
			}
			rest = e[end+1:]
		case '"':
			k := strings.IndexByte(e[1:], '"')
			if k < 0 {
				return nil
			}
			term, rest = e[:k+2], e[k+2:]
		default:
			end := strings.IndexAny(e, " ?*+!|)")
			if end < 0 {
				end = len(e)
			}
			term, rest = e[:end], e[end:]
		}
		if term != "" {
			out = append(out, term)
		}
		// An optional term lets the next one start the sequence too.
		if rest == "" || (rest[0] != '?' && rest[0] != '*') {
			return out
		}
		e = rest[1:]
	}
}

// groupEnd returns the index of the ")" closing the "(" at e[0], or -1.
func groupEnd(e string) int {
	depth := 0
	for j := 0; j < len(e); j++ {
		switch e[j] {
		case '"':
			k := strings.IndexByte(e[j+1:], '"')
			if k < 0 {
				return -1
			}
			j += k + 1
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return j
			}
		}
	}
	return -1
}

// splitAlts splits on top-level "|".
func splitAlts(e string) []string {
	var out []string
	depth, start := 0, 0
	for j := 0; j < len(e); j++ {
		switch e[j] {
		case '"':
			if k := strings.IndexByte(e[j+1:], '"'); k >= 0 {
				j += k + 1
			}
		case '(':
			depth++
		case ')':
			depth--
		case '|':
			if depth == 0 {
				out = append(out, e[start:j])
				start = j + 1
			}
		}
	}
	return append(out, e[start:])
}

// describeTerms words each term; "" marks one it cannot describe.
func describeTerms(terms []string, depth int) []string {
	var out []string
	for _, t := range terms {
		switch {
		case strings.HasPrefix(t, `"`):
			if w := strings.Trim(t, `"`); isWord(w) {
				out = append(out, w)
			} else {
				out = append(out, t)
			}
		case productionNames[t] != "":
			out = append(out, productionNames[t])
		case depth < 4 && productionRHS(t) != "":
			out = append(out, describeTerms(firstTerms(productionRHS(t)), depth+1)...)
		default:
			out = append(out, "")
		}
	}
	return out
}

func isWord(w string) bool {
	for _, r := range w {
		if !isIdentPart(r) {
			return false
		}
	}
	return w != ""
}

// suggest names a reserved word one typo away from an unexpected name.
func suggest(t lexer.Token) string {
	if t.Type != tokIdent || len(t.Value) < 3 {
		return ""
	}
	u := strings.ToUpper(t.Value)
	for _, k := range append(reservedList, "TEMPERATURE", "TOP") {
		if len(k) >= 3 && editDistance(u, k) == 1 {
			return k
		}
	}
	return ""
}

// editDistance is the optimal string alignment distance (edits and adjacent
// transpositions), enough to catch FORM for FROM.
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// StatementEnd returns the index just past the first ";" of src that ends a
// statement — one outside strings, quoted names and comments — or -1 when
// there is none yet (also while a string or comment is still open).
func StatementEnd(src string) int {
	for i := 0; i < len(src); i++ {
		switch c := src[i]; c {
		case ';':
			return i + 1
		case '\'', '"':
			end, ok := quoted(src, i)
			if !ok {
				return -1
			}
			i = end - 1
		case '-':
			if i+1 < len(src) && src[i+1] == '-' {
				k := strings.IndexByte(src[i:], '\n')
				if k < 0 {
					return -1
				}
				i += k
			}
		case '/':
			if i+1 < len(src) && src[i+1] == '*' {
				k := strings.Index(src[i+2:], "*/")
				if k < 0 {
					return -1
				}
				i += 2 + k + 1
			}
		}
	}
	return -1
}

// Keywords returns every word of the language in upper case, sorted: the
// reserved words and those matched by spelling (type names, metrics, KEY,
// TEMPERATURE, TOP…). The slice is the caller's.
func Keywords() []string {
	out := append(append([]string(nil), reservedList...), nonReserved...)
	sort.Strings(out)
	return out
}

// EBNF returns the grammar in participle's EBNF notation, followed by the
// tokens as a comment; docs/grammar.ebnf holds a copy.
func EBNF() string {
	return grammarEBNF() + "\n\n" + tokenDoc()
}

var handParsed = regexp.MustCompile(`\b(expr|valuesList|selectItems|exprList|orderItems)\b`)

// grammarEBNF is participle's grammar with the hand-parsed expression
// productions (exprEBNF) in place of the opaque "expr".
func grammarEBNF() string {
	g := handParsed.ReplaceAllStringFunc(parser.String(), func(w string) string { return strings.ToUpper(w[:1]) + w[1:] })
	return g + "\n" + strings.TrimSuffix(exprEBNF, "\n")
}

func tokenDoc() string {
	return `(* Tokens. Keywords and the quoted words above match case-insensitively;
   whitespace, -- line comments and /* block comments */ are skipped.
   <keyword> = a reserved word: ` + strings.Join(reservedList, " ") + `
   <ident>   = (letter | "_") {letter | digit | "_"}, not a reserved word
   <qident>  = '"' {any character, '""' for '"'} '"'
   <string>  = "'" {any character, "''" for "'"} "'"
   <int>     = digit {digit}
   <float>   = digits "." [digits] [exponent] | "." digits [exponent] | digits exponent
   <param>   = "?" | "$" digit {digit}
   <vector>  = "[" number {"," number} "]", number = ["+" | "-"] (<int> | <float>),
               each a finite float32, at most 65536 of them
   operators = + - * / % || = != <> < <= > >= , ( ) . ; √ *)
`
}
