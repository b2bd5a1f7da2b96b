package main

import (
	"bytes"

	"github.com/softdb/softdb/query"
)

// A piece is one statement (with its ";") or one dot command (with its
// newline) cut from a script, and where it starts in the script. The
// blanks and comments before it are not part of it.
type piece struct {
	text string
	at   query.Pos // its line and column (offsets count from its start)
	off  int       // its byte offset in the script
	dot  bool
}

// splitter cuts script text into pieces as the text arrives. It keeps its
// lexical state — in a string, a quoted name, a comment, a dot command —
// from one write to the next, so each byte is scanned once however the
// text is cut into reads, and a statement is handed out as soon as its ";"
// is read. It splits as query.StatementEnd does; a line whose first
// non-blank character is "." where a statement may start (nothing but
// blanks and comments before it) is a dot command, as in sqlite3.
type splitter struct {
	buf       []byte
	head      int       // buf[head:] has not been handed out
	scan      int       // buf[head:scan] has been scanned
	state     scanState // at buf[scan]
	blank     bool      // buf[head:scan] holds only blanks and comments
	lineBlank bool      // only blanks since the last newline
	line, col int       // where buf[head] is in the script
	offset    int       // and its byte offset
	steps     int       // bytes scanned, counted for the test of linear work
}

type scanState uint8

const (
	inCode         scanState = iota
	inString                 // '…'
	inQuotedName             // "…"
	inLineComment            // -- to the end of the line
	inBlockComment           // /* … */
	inDot                    // a dot command, to the end of its line
)

var byteOrderMark = []byte("\uFEFF")

func newSplitter() *splitter {
	sp := &splitter{}
	sp.reset()
	sp.line, sp.col = 1, 1
	return sp
}

// reset drops the text not handed out yet (the position goes on).
func (sp *splitter) reset() {
	sp.advance(len(sp.buf))
	sp.buf, sp.head, sp.scan = sp.buf[:0], 0, 0
	sp.state, sp.blank, sp.lineBlank = inCode, true, true
}

// write adds text read from the script.
func (sp *splitter) write(p []byte) {
	// Move the unread text to the front once it is at most half the
	// buffer: each byte is copied O(1) times on average.
	if sp.head > 0 && sp.head >= len(sp.buf)-sp.head {
		n := copy(sp.buf, sp.buf[sp.head:])
		sp.buf = sp.buf[:n]
		sp.scan -= sp.head
		sp.head = 0
	}
	sp.buf = append(sp.buf, p...)
}

// pending reports whether text short of a whole piece is held (blanks and
// complete comments are not kept).
func (sp *splitter) pending() bool { return sp.head < len(sp.buf) }

// next returns the next whole piece, or false when more text is needed.
// With eof the text is complete: what is left is the last piece (a
// statement without its ";", or an unterminated string or comment, which
// the parser reports), unless it is only blanks and comments.
func (sp *splitter) next(eof bool) (piece, bool) {
	b := sp.buf
	if sp.offset == 0 && sp.scan == 0 && sp.head == 0 {
		// A byte order mark from an editor starts the script.
		if !eof && len(b) < len(byteOrderMark) && bytes.HasPrefix(byteOrderMark, b) {
			return piece{}, false
		}
		if bytes.HasPrefix(b, byteOrderMark) {
			sp.head, sp.scan = len(byteOrderMark), len(byteOrderMark)
			sp.offset = len(byteOrderMark)
		}
	}
	i := sp.scan
	// needNext reports whether b[i] means nothing until b[i+1] is read.
	needNext := func() bool { return i+1 == len(b) && !eof }
	for ; i < len(b); i++ {
		sp.steps++
		c := b[i]
		switch sp.state {
		case inCode:
			switch c {
			case '\n', ' ', '\t', '\r', '\f', '\v':
				if c == '\n' {
					sp.lineBlank = true
				}
				if sp.blank {
					sp.advance(i + 1) // a piece starts at its first word
				}
			case ';':
				sp.lineBlank = false
				if sp.blank {
					sp.advance(i + 1) // an empty statement
					continue
				}
				return sp.cut(i+1, false), true
			case '\'', '"':
				sp.state = inString
				if c == '"' {
					sp.state = inQuotedName
				}
				sp.blank, sp.lineBlank = false, false
			case '-', '/':
				if needNext() {
					sp.scan = i
					return piece{}, false
				}
				switch {
				case c == '-' && i+1 < len(b) && b[i+1] == '-':
					sp.state = inLineComment
					i++
				case c == '/' && i+1 < len(b) && b[i+1] == '*':
					sp.state = inBlockComment
					i++
				default:
					sp.blank = false
				}
				sp.lineBlank = false
			case '.':
				if sp.blank && sp.lineBlank {
					sp.state = inDot
				}
				sp.blank, sp.lineBlank = false, false
			default:
				sp.blank, sp.lineBlank = false, false
			}
		case inString, inQuotedName:
			q := byte('\'')
			if sp.state == inQuotedName {
				q = '"'
			}
			if c != q {
				continue
			}
			if needNext() {
				sp.scan = i
				return piece{}, false
			}
			if i+1 < len(b) && b[i+1] == q {
				i++ // a doubled quote stands for itself
			} else {
				sp.state = inCode
			}
		case inLineComment:
			if c == '\n' {
				sp.state, sp.lineBlank = inCode, true
				if sp.blank {
					sp.advance(i + 1)
				}
			}
		case inBlockComment:
			if c != '*' {
				continue
			}
			if needNext() {
				sp.scan = i
				return piece{}, false
			}
			if i+1 < len(b) && b[i+1] == '/' {
				sp.state = inCode
				i++
				if sp.blank {
					sp.advance(i + 1)
				}
			}
		case inDot:
			if c == '\n' {
				p := sp.cut(i+1, true)
				sp.lineBlank = true
				return p, true
			}
		}
	}
	sp.scan = i
	switch {
	case sp.state == inDot && eof:
		return sp.cut(len(b), true), true
	case sp.state == inBlockComment && eof:
		return sp.cut(len(b), false), true // the parser says it is unterminated
	case sp.blank && sp.state == inLineComment && eof:
		sp.advance(len(b)) // nothing to run: drop it
	case eof && sp.head < len(b):
		return sp.cut(len(b), false), true
	}
	return piece{}, false
}

// overlong hands out the text held short of a whole piece once it is
// longer than a statement may be (query.MaxStatementLen): the parser then
// refuses it, and the rest of it is never read.
func (sp *splitter) overlong() (piece, bool) {
	if sp.blank || len(sp.buf)-sp.head <= query.MaxStatementLen {
		return piece{}, false
	}
	return sp.cut(len(sp.buf), sp.state == inDot), true
}

// cut hands out buf[head:end] as a piece.
func (sp *splitter) cut(end int, dot bool) piece {
	p := piece{text: string(sp.buf[sp.head:end]), at: sp.pos(), off: sp.offset, dot: dot}
	sp.advance(end)
	sp.scan = end
	sp.state, sp.blank = inCode, true
	return p
}

// advance moves head to end, keeping at the position of buf[head].
func (sp *splitter) advance(end int) {
	seg := sp.buf[sp.head:end]
	if k := bytes.LastIndexByte(seg, '\n'); k >= 0 {
		sp.line += bytes.Count(seg, []byte{'\n'})
		sp.col = len(seg) - k
	} else {
		sp.col += len(seg)
	}
	sp.offset += len(seg)
	sp.head = end
}

// pos returns where buf[head] is, as the parser takes it: line and column
// in the script, and offset 0, so that offsets in the statement's
// positions count from its start (a script may be longer than an int32
// offset; a statement is not).
func (sp *splitter) pos() query.Pos { return query.MakePos(0, sp.line, sp.col) }
