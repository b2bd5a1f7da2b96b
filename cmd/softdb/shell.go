package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
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

	stdout    *bufio.Writer // Out when no .output file is set
	stdoutW   io.Writer     // what stdout writes to
	outFile   *os.File      // the .output file, if any
	split     *splitter     // the statement typed so far, short of its ";"
	readDepth int           // .read files being read, one inside another

	progress *copyProgress // COPY progress bar when stderr is a terminal

	csv    *csv.Writer   // printCSV's writer, over csvOut
	csvOut *bufio.Writer // the Out that csv writes to
}

// NewShell opens a shell on db writing results to out and errors and notes
// to errOut.
func NewShell(db *softdb.DB, out, errOut io.Writer, format string) *Shell {
	w := bufio.NewWriter(out)
	return &Shell{DB: db, Conn: db.Conn(), Out: w, Err: errOut, Msg: errOut, Format: format,
		stdout: w, stdoutW: out, split: newSplitter()}
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

// ExecText runs the statements of text, which starts at position at of
// its script, printing each result as soon as it is ready. It stops at the
// first error and returns it, prefixed with the line it occurred near.
func (s *Shell) ExecText(ctx context.Context, text string, at query.Pos) error {
	stmts, err := query.ParseAt(text, at)
	if err != nil {
		return lineError(int(at.Line), err)
	}
	for _, st := range stmts {
		res, err := s.Conn.Run(ctx, st)
		if s.progress != nil {
			s.progress.finish()
		}
		if err != nil {
			return lineError(int(st.Position().Line), err)
		}
		if res.Columns != nil {
			if err := s.print(st, res); err != nil {
				return err
			}
		}
		if err := s.flush(); err != nil {
			return err
		}
		if res.Columns == nil && s.Screen {
			if tag := commandTag(st, res); tag != "" {
				s.note("%s\n", tag)
			}
		}
	}
	return nil
}

// commandTag is what the REPL prints after a statement without rows, as
// psql does: INSERT 2, UPDATE 1, DELETE 0, COPY 1000, CREATE TABLE.
func commandTag(st query.Statement, res *softdb.Statement) string {
	tag, counted := query.CommandTag(st)
	if counted {
		tag += " " + strconv.FormatInt(res.Result.RowsAffected, 10)
	}
	return tag
}

// flush writes the buffered results out. When the .output file fails (a
// full disk, /dev/full), results go back to the screen and the error says
// so; when standard output fails, what it could not take is dropped. Either
// way the next command starts afresh instead of failing with the same
// error.
func (s *Shell) flush() error {
	err := s.Out.Flush()
	if err == nil {
		return nil
	}
	if s.outFile != nil {
		s.outFile.Close()
		s.outFile = nil
		s.Out = s.stdout
		return fmt.Errorf("%w (results go to the screen again)", err)
	}
	s.stdout.Reset(s.stdoutW)
	return err
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

// errQuit is returned by a script that ran .quit or .exit.
var errQuit = errors.New("quit")

// RunScript reads statements and dot commands from r and runs each as soon
// as its terminating semicolon (a dot command: its newline) has been read,
// without waiting for more input (SPEC §6: a driver on a pipe sees each
// answer before sending the next statement). It stops at the first error,
// or with errQuit at .quit.
func (s *Shell) RunScript(ctx context.Context, r io.Reader) error {
	sp := newSplitter()
	chunk := make([]byte, 64<<10)
	for {
		n, readErr := r.Read(chunk)
		sp.write(chunk[:n])
		eof := readErr == io.EOF
		if readErr != nil && !eof {
			return readErr
		}
		for {
			p, ok := sp.next(eof)
			if !ok {
				break
			}
			if err := s.runPiece(ctx, p); err != nil {
				return err
			}
		}
		if p, ok := sp.overlong(); ok {
			if err := s.runPiece(ctx, p); err != nil {
				return err
			}
			return lineError(int(p.at.Line), errors.New("statement is too long"))
		}
		if eof {
			return nil
		}
	}
}

// runPiece runs one statement or dot command of a script.
func (s *Shell) runPiece(ctx context.Context, p piece) error {
	if s.Timer {
		defer s.timed()()
	}
	if !p.dot {
		return s.ExecText(ctx, p.text, p.at)
	}
	more, err := s.dot(ctx, strings.TrimSpace(p.text))
	if err != nil {
		return lineError(int(p.at.Line), err)
	}
	if !more {
		return errQuit
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
	s.split.write([]byte(line))
	s.split.write([]byte{'\n'})
	for {
		p, ok := s.split.next(false)
		if !ok {
			break
		}
		if p.dot {
			more, err := s.dot(ctx, strings.TrimSpace(p.text))
			if err != nil {
				s.reportError("", err)
			}
			if err := s.flush(); err != nil {
				s.reportError("", err)
			}
			if !more {
				return false
			}
			continue
		}
		// Positions count from the statement's first line, which the
		// error excerpt shows.
		if ctx.Err() != nil || !s.runStatement(ctx, p.text) {
			s.split.reset()
			break
		}
	}
	if p, ok := s.split.overlong(); ok {
		s.runStatement(ctx, p.text) // the parser refuses it as too long
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
func (s *Shell) Pending() bool { return s.split.pending() }

// ClearPending drops the partly typed statement (Ctrl-C at the prompt).
func (s *Shell) ClearPending() { s.split.reset() }

// runStatement runs one statement typed at the prompt and prints its
// result or its error. It reports false when the statement was cancelled.
func (s *Shell) runStatement(ctx context.Context, text string) bool {
	defer s.timed()()
	err := s.ExecText(ctx, text, query.Pos{Line: 1, Col: 1})
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
	if err := s.flush(); err != nil {
		fmt.Fprintf(s.Err, "Error: %v\n", err)
	}
	fmt.Fprintf(s.Msg, format, args...)
}

// reportError prints an error of a statement typed at the prompt. When the
// error has a position in src, the line at fault is shown with a caret
// under the spot, as psql does; src "" shows the message only.
func (s *Shell) reportError(src string, err error) {
	if ferr := s.flush(); ferr != nil {
		fmt.Fprintf(s.Err, "Error: %v\n", ferr)
	}
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

// formatDuration prints a run time to the millisecond, as psql's \timing.
func formatDuration(d time.Duration) string {
	return fmt.Sprintf("%.3f ms", float64(d.Microseconds())/1000)
}
