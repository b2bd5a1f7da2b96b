package query

import (
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/alecthomas/participle/v2/lexer"
)

// Token types. Every token keeps its raw text as Value, so a quoted name or
// string never collides with a grammar literal such as "FROM" or "(".
const (
	tokEOF     = lexer.EOF
	tokKeyword = lexer.TokenType(-2 - iota)
	tokIdent
	tokQIdent
	tokString
	tokInt
	tokFloat
	tokParam
	tokVector // a whole [..] literal; elements are checked when lowering
	tokOp
	tokValues // the rows after VALUES, whole: see stmtLexer
	tokRun    // a chain such as "+ 1 + 2" inside an expression: see stmtLexer.chain
	tokList   // a whole list after SELECT, GROUP BY or ORDER BY: see stmtLexer.list
)

func tokSymbols() map[string]lexer.TokenType {
	return map[string]lexer.TokenType{
		"EOF":     tokEOF,
		"Keyword": tokKeyword,
		"Ident":   tokIdent,
		"QIdent":  tokQIdent,
		"String":  tokString,
		"Int":     tokInt,
		"Float":   tokFloat,
		"Param":   tokParam,
		"Vector":  tokVector,
		"Op":      tokOp,
		"Values":  tokValues,
		"Run":     tokRun,
		"List":    tokList,
	}
}

// reserved words are lexed as Keyword and can never be names (unless
// double-quoted). Everything else the grammar matches by spelling (KEY,
// TEMPERATURE, TOP, type names, metrics…) is an ordinary Ident, so that
// key, value, label, score, weight and d stay usable as column names.
var reserved = map[string]bool{}

var reservedList = []string{
	"AND", "AS", "ASC", "BEGIN", "BETWEEN", "BY", "COMMIT", "COPY", "CREATE",
	"DELETE", "DESC", "DESCRIBE", "DISTINCT", "DROP", "EXISTS", "EXPLAIN",
	"FALSE", "FROM", "GROUP", "HARD", "HAVING", "IF", "IN", "INSERT", "INTO",
	"IS", "LIKE", "LIMIT", "MATCH", "NOT", "NULL", "OFFSET", "ON", "OR",
	"ORDER", "PRIMARY", "ROLLBACK", "SELECT", "SET", "SHOW", "SOFT", "TABLE",
	"TO", "TRUE", "UPDATE", "USING", "VALUES", "WHERE", "WITH",
}

// nonReserved are grammar words lexed as Ident.
var nonReserved = []string{
	"ANALYZE", "BIGINT", "COSINE", "DOT", "DOUBLE", "ERROR", "FLOAT", "INDEX",
	"INDEXES", "INT", "INTEGER", "KEY", "REINDEX", "WITHIN",
	"L2", "PRECISION", "REAL", "TABLES", "TEMPERATURE", "TEXT", "TOP",
	"TRANSACTION", "VARCHAR", "VECTOR",
	"BACKWARD", "HEADS", // SOFT SELECT … HEADS h, BACKWARD col = g
	// the learned lookup (learn.go)
	"ALWAYS", "ANALYZE", "GENERATED", "IDENTITY", "INIT", "ITERATIONS",
	"LABEL", "PROJECTION", "PROJECTIONS", "RANDOM", "SEED", "STORED",
	"TARGET", "TRAIN",
}

func init() {
	for _, k := range reservedList {
		reserved[k] = true
	}
}

// lexDef adapts the scanner to participle's lexer.Definition. Parse feeds
// participle pre-lexed tokens; Lex exists so the definition is complete.
type lexDef struct{}

func (lexDef) Symbols() map[string]lexer.TokenType { return tokSymbols() }

func (lexDef) Lex(_ string, r io.Reader) (lexer.Lexer, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	toks, err := lex(string(b))
	if err != nil {
		return nil, err
	}
	return &sliceLexer{toks: toks, eof: lexer.EOFToken(endPos(string(b)))}, nil
}

// sliceLexer replays tokens, then EOF.
type sliceLexer struct {
	toks []lexer.Token
	eof  lexer.Token
}

func (s *sliceLexer) Next() (lexer.Token, error) {
	if len(s.toks) == 0 {
		return s.eof, nil
	}
	t := s.toks[0]
	s.toks = s.toks[1:]
	return t, nil
}

// scanner tracks byte offset, line and byte column. src may be a piece of
// the text that starts at offset base.
type scanner struct {
	src       string
	off       int
	line      int
	lineStart int
	base      int
}

func (s *scanner) pos() lexer.Position {
	return lexer.Position{Offset: s.base + s.off, Line: s.line, Column: s.off - s.lineStart + 1}
}

// advance moves to offset to, counting newlines on the way.
func (s *scanner) advance(to int) {
	for i := s.off; i < to; i++ {
		if s.src[i] == '\n' {
			s.line++
			s.lineStart = i + 1
		}
	}
	s.off = to
}

func endPos(src string) lexer.Position {
	s := scanner{src: src, line: 1}
	s.advance(len(src))
	return s.pos()
}

func lexErr(p lexer.Position, format string, args ...any) *Error {
	return &Error{Pos: pos(p), Msg: fmt.Sprintf(format, args...)}
}

func isIdentStart(r rune) bool {
	return r == '_' || r < utf8.RuneSelf && ('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z') ||
		r >= utf8.RuneSelf && unicode.IsLetter(r)
}

func isIdentPart(r rune) bool {
	return isIdentStart(r) || '0' <= r && r <= '9' || r >= utf8.RuneSelf && unicode.IsDigit(r)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// lex splits src into tokens, dropping whitespace and comments.
func lex(src string) ([]lexer.Token, error) {
	s := scanner{src: src, line: 1}
	if strings.HasPrefix(src, "\uFEFF") { // a byte order mark from an editor
		s.off, s.lineStart = 3, 3
	}
	toks := make([]lexer.Token, 0, len(src)/8+4)
	for {
		if err := s.skipSpace(); err != nil {
			return nil, err
		}
		if s.off >= len(src) {
			return toks, nil
		}
		t, err := s.next()
		if err != nil {
			return nil, err
		}
		toks = append(toks, t)
	}
}

// skipSpace skips whitespace and comments.
func (s *scanner) skipSpace() error {
	src := s.src
	for s.off < len(src) {
		c := src[s.off]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			s.advance(s.off + 1)
		case c == '-' && s.off+1 < len(src) && src[s.off+1] == '-':
			end := strings.IndexByte(src[s.off:], '\n')
			if end < 0 {
				s.advance(len(src))
			} else {
				s.advance(s.off + end + 1)
			}
		case c == '/' && s.off+1 < len(src) && src[s.off+1] == '*':
			end := strings.Index(src[s.off+2:], "*/")
			if end < 0 {
				return lexErr(s.pos(), "unterminated /* comment")
			}
			s.advance(s.off + 2 + end + 2)
		default:
			return nil
		}
	}
	return nil
}

func (s *scanner) tok(typ lexer.TokenType, start lexer.Position, end int) lexer.Token {
	t := lexer.Token{Type: typ, Value: s.src[start.Offset-s.base : end], Pos: start}
	s.advance(end)
	return t
}

// next scans one token at s.off (not whitespace or a comment).
func (s *scanner) next() (lexer.Token, error) {
	src, start := s.src, s.pos()
	i := s.off
	c := src[i]
	switch {
	case isDigit(c) || c == '.' && i+1 < len(src) && isDigit(src[i+1]):
		return s.number(start)
	case c == '\'' || c == '"':
		end, ok := quoted(src, i)
		if !ok {
			if c == '\'' {
				return lexer.Token{}, lexErr(start, "unterminated string literal")
			}
			return lexer.Token{}, lexErr(start, "unterminated quoted identifier")
		}
		if c == '\'' {
			return s.tok(tokString, start, end), nil
		}
		if end == i+2 {
			return lexer.Token{}, lexErr(start, "zero-length quoted identifier")
		}
		return s.tok(tokQIdent, start, end), nil
	case c == '?':
		return s.tok(tokParam, start, i+1), nil
	case c == '$':
		j := i + 1
		for j < len(src) && isDigit(src[j]) {
			j++
		}
		if j == i+1 {
			return lexer.Token{}, lexErr(start, "unexpected \"$\": parameters are written $1, $2, …")
		}
		return s.tok(tokParam, start, j), nil
	case c == '[':
		return s.vector(start)
	}
	if c >= utf8.RuneSelf || isIdentStart(rune(c)) {
		r, n := utf8.DecodeRuneInString(src[i:])
		if r == '√' {
			return s.tok(tokOp, start, i+n), nil
		}
		if !isIdentStart(r) {
			return lexer.Token{}, lexErr(start, "unexpected character %q", string(r))
		}
		j := i + n
		for j < len(src) {
			r, n := utf8.DecodeRuneInString(src[j:])
			if !isIdentPart(r) {
				break
			}
			j += n
		}
		if reserved[strings.ToUpper(src[i:j])] {
			return s.tok(tokKeyword, start, j), nil
		}
		return s.tok(tokIdent, start, j), nil
	}
	two := ""
	if i+1 < len(src) {
		two = src[i : i+2]
	}
	switch two {
	case "||", "!=", "<>", "<=", ">=":
		return s.tok(tokOp, start, i+2), nil
	}
	switch c {
	case '+', '-', '*', '/', '%', '=', '<', '>', ',', '(', ')', '.', ';':
		return s.tok(tokOp, start, i+1), nil
	}
	return lexer.Token{}, lexErr(start, "unexpected character %q", string(rune(c)))
}

// quoted returns the offset just past the quoted text starting at src[i];
// a doubled quote character escapes itself.
func quoted(src string, i int) (int, bool) {
	q := src[i]
	for j := i + 1; j < len(src); j++ {
		if src[j] == q {
			if j+1 < len(src) && src[j+1] == q {
				j++
				continue
			}
			return j + 1, true
		}
	}
	return 0, false
}

// number scans 12, 1.5, .5, 1., 1e-3, 2.5E+10. A letter, digit or dot glued
// to the end is an error rather than the start of the next token.
func (s *scanner) number(start lexer.Position) (lexer.Token, error) {
	src := s.src
	j := s.off
	float := false
	for j < len(src) && isDigit(src[j]) {
		j++
	}
	if j < len(src) && src[j] == '.' {
		float = true
		j++
		for j < len(src) && isDigit(src[j]) {
			j++
		}
	}
	if j < len(src) && (src[j] == 'e' || src[j] == 'E') {
		k := j + 1
		if k < len(src) && (src[k] == '+' || src[k] == '-') {
			k++
		}
		if k < len(src) && isDigit(src[k]) {
			float = true
			for k < len(src) && isDigit(src[k]) {
				k++
			}
			j = k
		}
	}
	if j < len(src) {
		r, _ := utf8.DecodeRuneInString(src[j:])
		if isIdentPart(r) || r == '.' {
			k := j
			for k < len(src) {
				r, n := utf8.DecodeRuneInString(src[k:])
				if !isIdentPart(r) && r != '.' {
					break
				}
				k += n
			}
			return lexer.Token{}, lexErr(start, "malformed number %q", src[s.off:k])
		}
	}
	if float {
		return s.tok(tokFloat, start, j), nil
	}
	return s.tok(tokInt, start, j), nil
}

// vector scans a whole [ … ] literal as one token: elements are plain signed
// numbers, so there is no nesting and one token keeps long vectors cheap.
// Comments inside are allowed and skipped later.
func (s *scanner) vector(start lexer.Position) (lexer.Token, error) {
	src := s.src
	for j := s.off + 1; j < len(src); j++ {
		switch c := src[j]; c {
		case ']':
			return s.tok(tokVector, start, j+1), nil
		case '-':
			if j+1 < len(src) && src[j+1] == '-' {
				end := strings.IndexByte(src[j:], '\n')
				if end < 0 {
					j = len(src)
				} else {
					j += end
				}
			}
		case '/':
			if j+1 < len(src) && src[j+1] == '*' {
				end := strings.Index(src[j+2:], "*/")
				if end < 0 {
					p := *s
					p.advance(j)
					return lexer.Token{}, lexErr(p.pos(), "unterminated /* comment")
				}
				j += 2 + end + 1
			}
		case '[', ';', '\'', '"', '(', ')':
			p := *s
			p.advance(j)
			if c == ';' {
				return lexer.Token{}, lexErr(start, "unterminated vector literal: missing \"]\"")
			}
			return lexer.Token{}, lexErr(p.pos(), "unexpected %q in vector literal: elements must be numbers", string(c))
		}
	}
	return lexer.Token{}, lexErr(start, "unterminated vector literal: missing \"]\"")
}
