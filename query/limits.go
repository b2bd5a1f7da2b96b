package query

import "strings"

// Limits on one statement. Past them Parse returns a positioned error
// instead of spending unbounded time, memory or stack.
//
// The length is checked before a statement is lexed: Parse finds where each
// statement ends with a byte scan that stops MaxStatementLen bytes into it,
// so a 100 MB statement is refused after reading about 1 MiB of it, with no
// allocation. A reader that accumulates statements from a stream (the
// shell's script mode, a future server's simple-query loop) should call
// CheckStatementLen on its pending text before growing it past
// MaxStatementLen, rather than buffer an unbounded statement first.
const (
	MaxStatementLen = 1 << 20 // bytes from a statement's first token to the end of its last
	MaxDepth        = 200     // nesting of parentheses and prefix operators
)

// span is where the next statement of a text lies.
type span struct {
	start   int  // offset of its first token; == end when it has none
	tokEnd  int  // offset just past its last token
	end     int  // offset of its ";", or the length of the text
	tooLong bool // a token reaches past start+MaxStatementLen; end and tokEnd are not set
}

// byte classes for nextSpan.
const (
	bPlain = iota // part of a token
	bSpace
	bSpecial // ; ' " - / — may start a comment, a quoted token or end the statement
)

var byteClass = func() (c [256]uint8) {
	for _, b := range []byte(" \t\n\r\f\v") {
		c[b] = bSpace
	}
	for _, b := range []byte(";'\"-/") {
		c[b] = bSpecial
	}
	return c
}()

// nextSpan scans src from offset from to the end of the next statement,
// skipping whitespace and comments as the lexer does and treating a ";"
// inside quotes or comments as text. It reads at most limit bytes past the
// statement's first token (plus any comment it is inside) and allocates
// nothing. Malformed text (an unterminated string or comment) ends the
// span at the end of src; lexing the span reports it.
func nextSpan(src string, from, limit int) span {
	sp := span{start: -1}
	i := from
	if i == 0 && strings.HasPrefix(src, "\uFEFF") {
		i = 3
	}
	// window bounds the scans inside a token: once the statement has
	// started, nothing past start+limit+1 needs reading.
	window := len(src) + 1
	for i < len(src) {
		switch byteClass[src[i]] {
		case bPlain:
			if sp.start < 0 {
				sp.start = i
				window = min(len(src), i+limit) + 1
				if plainWindow(src, i, limit) {
					sp.tooLong = true
					return sp
				}
			}
			j := i + 1
			for j < len(src) && j < window && byteClass[src[j]] == bPlain {
				j++
			}
			if !markFrom(&sp, &window, i, j, len(src), limit) {
				sp.tooLong = true
				return sp
			}
			i = j
		case bSpace:
			i++
		default:
			c := src[i]
			switch {
			case c == ';':
				sp.end = i
				if sp.start < 0 {
					sp.start, sp.tokEnd = i, i
				}
				return sp
			case c == '-' && i+1 < len(src) && src[i+1] == '-':
				k := strings.IndexByte(src[i:], '\n')
				if k < 0 {
					i = len(src)
				} else {
					i += k + 1
				}
			case c == '/' && i+1 < len(src) && src[i+1] == '*':
				k := strings.Index(src[i+2:], "*/")
				if k < 0 {
					i = len(src)
				} else {
					i += 2 + k + 2
				}
			case c == '\'' || c == '"':
				// Search for the closing quote only as far as the
				// statement may reach.
				if sp.start < 0 {
					sp.start = i
					window = min(len(src), i+limit) + 1
				}
				hi := min(len(src), window)
				end, ok := quoted(src[:hi], i)
				if !ok {
					if hi < len(src) {
						sp.tooLong = true
						return sp
					}
					end = len(src) // unterminated: the lexer says so
				}
				if !markFrom(&sp, &window, i, end, len(src), limit) {
					sp.tooLong = true
					return sp
				}
				i = end
			default: // a lone - or /
				if !markFrom(&sp, &window, i, i+1, len(src), limit) {
					sp.tooLong = true
					return sp
				}
				i++
			}
		}
	}
	sp.end = len(src)
	if sp.start < 0 {
		sp.start, sp.tokEnd = len(src), len(src)
	}
	return sp
}

// plainWindow reports, with a few vectorised scans, the common way a huge
// statement is too long: its first limit bytes hold no ";", quote or comment,
// and a token byte follows them after nothing but whitespace.
func plainWindow(src string, start, limit int) bool {
	j := start + limit
	for j < len(src) && byteClass[src[j]] == bSpace {
		j++
	}
	if j >= len(src) || byteClass[src[j]] != bPlain {
		return false
	}
	w := src[start:j]
	for _, c := range []byte(";'\"-/") {
		if strings.IndexByte(w, c) >= 0 {
			return false
		}
	}
	return true
}

// markFrom records that token text runs over [i, j); it reports false when
// that takes the statement past limit bytes.
func markFrom(sp *span, window *int, i, j, n, limit int) bool {
	if sp.start < 0 {
		sp.start = i
		*window = min(n, i+limit) + 1
	}
	sp.tokEnd = j
	return j-sp.start <= limit
}

// CheckStatementLen reports whether the first statement of src, complete or
// not, is already longer than MaxStatementLen: it returns the same
// positioned error Parse would, or nil. It reads at most about
// MaxStatementLen bytes of src and allocates nothing unless it fails, so a
// reader can call it as text arrives and stop reading a statement that can
// never be accepted.
func CheckStatementLen(src string) error {
	sp := nextSpan(src, 0, MaxStatementLen)
	if !sp.tooLong {
		return nil
	}
	return tooLong(src, sp.start)
}

func tooLong(src string, start int) *Error {
	s := scanner{src: src, line: 1}
	s.advance(start)
	return lexErr(s.pos(), "statement is too long (the limit is %d bytes)", MaxStatementLen)
}
