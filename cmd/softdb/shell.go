package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/softdb/softdb"
	"github.com/softdb/softdb/query"
)

// Shell runs statements on one connection and prints their results. It is
// the core of script mode and of the REPL, and needs no terminal: the
// readline loop only hands it lines (Line), so tests drive it from strings.
type Shell struct {
	DB     *softdb.DB
	Conn   *softdb.Conn
	Out    *bufio.Writer // results: standard output, or the file of .output
	Err    io.Writer     // errors
	Msg    io.Writer     // notes for the person at the prompt: help, timings
	Format string        // table, csv, json, jsonl

	// Screen is set when results go to a person's terminal: long vectors
	// are shortened, long results cut and weights drawn as bars. Scripts
	// and files never get it, so they lose no data.
	Screen bool
	Color  bool // dim NULL with ANSI escapes (on a Screen only)
	Timer  bool // print each statement's run time

	stdout  *bufio.Writer   // Out when no .output file is set
	outFile *os.File        // the .output file, if any
	pending strings.Builder // a statement typed so far, short of its ";"

	progress *copyProgress // COPY progress bar when stderr is a terminal
}

// NewShell opens a shell on db writing results to out and errors and notes
// to errOut.
func NewShell(db *softdb.DB, out, errOut io.Writer, format string) *Shell {
	w := bufio.NewWriter(out)
	return &Shell{DB: db, Conn: db.Conn(), Out: w, Err: errOut, Msg: errOut, Format: format, stdout: w}
}

// Close flushes the output and closes an .output file and the connection
// (rolling back an open transaction).
func (s *Shell) Close() error {
	err := s.setOutput("")
	if e := s.Conn.Close(); err == nil {
		err = e
	}
	return err
}

// ExecText runs the statements of text, which starts at line `line` of its
// script, printing each result as soon as it is ready. It stops at the first
// error and returns it, prefixed with the line it occurred near.
func (s *Shell) ExecText(ctx context.Context, text string, line int) error {
	// Pad so that positions in errors are those of the whole script.
	padded := strings.Repeat("\n", line-1) + text
	stmts, err := query.Parse(padded)
	if err != nil {
		return lineError(line, err)
	}
	for _, st := range stmts {
		res, err := s.Conn.Run(ctx, st)
		if s.progress != nil {
			s.progress.finish()
		}
		if err != nil {
			return lineError(st.Position().Line, err)
		}
		if res.Columns != nil {
			if err := s.print(st, res); err != nil {
				return err
			}
		}
		if err := s.Out.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// tooLong refuses the statement being read, text (from script line line
// on), once it is longer than query.MaxStatementLen: the rest of it is
// never read.
func tooLong(text string, line int) error {
	if len(text) <= query.MaxStatementLen {
		return nil
	}
	err := query.CheckStatementLen(text)
	var qe *query.Error
	if !errors.As(err, &qe) {
		return nil
	}
	qe.Pos.Line += line - 1
	return lineError(line, qe)
}

// lineError_ is an error of the statement near a script line.
type lineError_ struct {
	line int
	err  error
}

// positioned matches a message that starts with its own "line:col: ".
var positioned = regexp.MustCompile(`^(\d+):(\d+): `)

func (e *lineError_) Error() string {
	msg := e.err.Error()
	if positioned.MatchString(msg) {
		return "line " + msg
	}
	return fmt.Sprintf("near line %d: %s", e.line, msg)
}
func (e *lineError_) Unwrap() error { return e.err }

func lineError(line int, err error) error {
	var le *lineError_
	if errors.As(err, &le) {
		return err
	}
	return &lineError_{line, err}
}

// RunScript reads statements from r and runs each as soon as its
// terminating semicolon has been read (SPEC §6: a driver on a pipe sees each
// answer before sending the next statement). It stops at the first error.
func (s *Shell) RunScript(ctx context.Context, r io.Reader) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var buf strings.Builder
	line := 1 // script line where buf starts
	for {
		// A line is read at most a buffer at a time, so that an overlong
		// statement is refused before it is all in memory (tooLong below).
		chunk, readErr := br.ReadSlice('\n')
		if readErr == bufio.ErrBufferFull {
			readErr = nil
		}
		buf.Write(chunk)
		for {
			text := buf.String()
			end := query.StatementEnd(text)
			if end < 0 {
				break
			}
			stmt := text[:end]
			rest := text[end:]
			if err := s.ExecText(ctx, stmt, line); err != nil {
				return err
			}
			line += strings.Count(stmt, "\n")
			buf.Reset()
			buf.WriteString(rest)
		}
		if err := tooLong(buf.String(), line); err != nil {
			return err
		}
		if readErr == io.EOF {
			break
		}
		if readErr != nil {
			return readErr
		}
	}
	if rest := buf.String(); strings.TrimSpace(rest) != "" {
		return s.ExecText(ctx, rest, line)
	}
	return nil
}

// Line takes one line as typed at the prompt. Outside a statement a line
// starting with "." is a dot command; any other line is added to the
// statement being typed, and each statement it completes with ";" runs at
// once. Errors are printed and the session goes on. Cancelling ctx stops
// the running statement and drops the rest of the typed text. Line reports
// false when the line asks to leave (.quit, .exit).
func (s *Shell) Line(ctx context.Context, line string) bool {
	if s.pending.Len() == 0 && strings.HasPrefix(strings.TrimSpace(line), ".") {
		more := s.dot(ctx, strings.TrimSpace(line))
		s.Out.Flush()
		return more
	}
	s.pending.WriteString(line)
	s.pending.WriteByte('\n')
	for {
		text := s.pending.String()
		end := query.StatementEnd(text)
		if end < 0 {
			break
		}
		s.pending.Reset()
		s.pending.WriteString(strings.TrimLeft(text[end:], " \t\r\n"))
		if ctx.Err() != nil || !s.runStatement(ctx, text[:end]) {
			s.pending.Reset()
			break
		}
	}
	if onlyComments(s.pending.String()) {
		s.pending.Reset() // nothing to continue: back to the main prompt
	}
	return true
}

// Feed runs text as if its lines were typed at the prompt one by one. It
// reports false when a line asked to leave.
func (s *Shell) Feed(ctx context.Context, text string) bool {
	for _, line := range strings.SplitAfter(text, "\n") {
		if line == "" {
			continue
		}
		if !s.Line(ctx, strings.TrimSuffix(line, "\n")) {
			return false
		}
	}
	return true
}

// Pending reports whether a statement is partly typed (the REPL then shows
// its continuation prompt).
func (s *Shell) Pending() bool { return s.pending.Len() > 0 }

// ClearPending drops the partly typed statement (Ctrl-C at the prompt).
func (s *Shell) ClearPending() { s.pending.Reset() }

// runStatement runs one statement typed at the prompt and prints its
// result or its error. It reports false when the statement was cancelled.
func (s *Shell) runStatement(ctx context.Context, text string) bool {
	defer s.timed()()
	err := s.ExecText(ctx, text, 1)
	if err != nil {
		s.reportError(text, err)
	}
	return ctx.Err() == nil
}

// timed starts timing a command; the function it returns prints the run
// time when .timer is on.
func (s *Shell) timed() func() {
	start := time.Now()
	return func() {
		if s.Timer {
			s.note("Time: %s\n", formatDuration(time.Since(start)))
		}
	}
}

// note writes a message for the person at the prompt, after the results
// printed so far.
func (s *Shell) note(format string, args ...any) {
	s.Out.Flush()
	fmt.Fprintf(s.Msg, format, args...)
}

// reportError prints an error of a statement typed at the prompt. When the
// error has a position in src, the line at fault is shown with a caret
// under the spot, as psql does; src "" shows the message only.
func (s *Shell) reportError(src string, err error) {
	s.Out.Flush()
	if errors.Is(err, context.Canceled) {
		if s.Screen {
			fmt.Fprintln(s.Err) // end the line the terminal echoed ^C on
		}
		fmt.Fprintln(s.Err, "Error: cancelled")
		return
	}
	var le *lineError_
	if errors.As(err, &le) {
		err = le.err
	}
	msg := err.Error()
	m := positioned.FindStringSubmatch(msg)
	if m == nil {
		fmt.Fprintf(s.Err, "Error: %s\n", msg)
		return
	}
	msg = msg[len(m[0]):]
	var line, col int
	fmt.Sscan(m[1], &line)
	fmt.Sscan(m[2], &col)
	lines := strings.Split(src, "\n")
	if src == "" || line < 1 || line > len(lines) {
		fmt.Fprintf(s.Err, "Error: %s\n", msg)
		return
	}
	fmt.Fprintf(s.Err, "Error: %s\n%s\n", msg, caretExcerpt(line, lines[line-1], col))
}

// caretExcerpt shows one source line under "LINE n: " with a caret under
// column col (1-based, in characters), clipping long lines around it.
func caretExcerpt(n int, text string, col int) string {
	const around = 40 // characters shown each side of the caret
	r := []rune(strings.TrimRight(text, "\r"))
	col = max(1, min(col, len(r)+1))
	from, to := 0, len(r)
	if col-1 > around {
		from = col - 1 - around
	}
	to = min(to, col-1+around)
	excerpt := string(r[from:to])
	caret := col - 1 - from
	if from > 0 {
		excerpt = "…" + excerpt
		caret++
	}
	if to < len(r) {
		excerpt += "…"
	}
	prefix := fmt.Sprintf("LINE %d: ", n)
	return prefix + excerpt + "\n" + strings.Repeat(" ", len(prefix)+caret) + "^"
}

// onlyComments reports whether src holds nothing but blanks and complete
// comments.
func onlyComments(src string) bool {
	for i := 0; i < len(src); {
		switch {
		case strings.ContainsRune(" \t\r\n", rune(src[i])):
			i++
		case strings.HasPrefix(src[i:], "--"):
			k := strings.IndexByte(src[i:], '\n')
			if k < 0 {
				return true // a comment to the end of src
			}
			i += k + 1
		case strings.HasPrefix(src[i:], "/*"):
			k := strings.Index(src[i+2:], "*/")
			if k < 0 {
				return false
			}
			i += 2 + k + 2
		default:
			return false
		}
	}
	return true
}

// formatDuration prints a run time to the millisecond, as psql's \timing.
func formatDuration(d time.Duration) string {
	return fmt.Sprintf("%.3f ms", float64(d.Microseconds())/1000)
}
