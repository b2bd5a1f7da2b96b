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
	"github.com/softdb/softdb/types"
)

// Parse parses a script of ";"-separated statements. The final ";" is
// optional and empty statements are skipped. "?" parameters are numbered
// from 1 in each statement. Every error is a *Error; the first error in the
// text is the one returned.
//
// Each statement is measured before it is lexed (see MaxStatementLen), and
// lexed and parsed on its own, so the work is linear in the text.
func Parse(src string) ([]Statement, error) {
	return ParseAt(src, Pos{Line: 1, Col: 1})
}

// ParseAt is Parse for text that starts at position at of a longer script:
// the positions in the AST and in errors are the script's. A script runner
// parses each statement as it is read and its errors still name the
// script's line and column.
func ParseAt(src string, at Pos) ([]Statement, error) {
	var out []Statement
	s := scanner{src: src, line: int(at.Line), lineStart: -(int(at.Col) - 1), base: int(at.Offset)}
	if strings.HasPrefix(src, "\uFEFF") { // a byte order mark from an editor
		s.off, s.lineStart = 3, 3-(int(at.Col)-1)
	}
	for {
		sp := nextSpan(src, s.off, MaxStatementLen)
		if sp.tooLong {
			s.advance(sp.start)
			return nil, lexErr(s.pos(), "statement is too long (the limit is %d bytes)", MaxStatementLen)
		}
		// Statements are UTF-8 (as PostgreSQL's are, 22021): a string with
		// invalid bytes would not survive an export. Checked a statement
		// at a time, so the first error in the text is the one returned.
		if i := types.InvalidUTF8(src[s.off:sp.end]); i >= 0 {
			s.advance(s.off + i)
			return nil, lexErr(s.pos(), "invalid UTF-8: byte 0x%02x does not start a character", src[s.off])
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
