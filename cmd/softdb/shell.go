package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/softdb/softdb"
	"github.com/softdb/softdb/query"
)

// Shell runs statements on one connection and prints their results. It is
// the core of both script mode and the REPL, and needs no terminal.
type Shell struct {
	DB     *softdb.DB
	Conn   *softdb.Conn
	Out    *bufio.Writer
	Err    io.Writer
	Format string // table, csv, json, jsonl
}

// NewShell opens a shell on db writing to out and errOut.
func NewShell(db *softdb.DB, out, errOut io.Writer, format string) *Shell {
	return &Shell{DB: db, Conn: db.Conn(), Out: bufio.NewWriter(out), Err: errOut, Format: format}
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
		if err != nil {
			return lineError(st.Position().Line, err)
		}
		if res.Columns != nil {
			if err := s.print(res); err != nil {
				return err
			}
		}
		if err := s.Out.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// lineError is an error of the statement near a script line.
type lineError_ struct {
	line int
	err  error
}

func (e *lineError_) Error() string {
	msg := e.err.Error()
	if strings.HasPrefix(msg, fmt.Sprintf("%d:", e.line)) {
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
	br := bufio.NewReader(r)
	var buf strings.Builder
	line := 1 // script line where buf starts
	for {
		chunk, readErr := br.ReadString('\n')
		buf.WriteString(chunk)
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
