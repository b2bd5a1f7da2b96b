package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/chzyer/readline"
	"github.com/softdb/softdb/query"
)

const (
	prompt     = "softdb> "
	contPrompt = "   ...> "
)

// runREPL is the interactive shell on a terminal.
func runREPL(sh *Shell, dir string) int {
	home, _ := os.UserHomeDir()
	rl, err := readline.NewEx(&readline.Config{
		Prompt:          prompt,
		HistoryFile:     filepath.Join(home, ".softdb_history"),
		InterruptPrompt: "^C",
		EOFPrompt:       "",
	})
	if err != nil {
		fmt.Fprintf(sh.Err, "Error: %v\n", err)
		return 1
	}
	defer rl.Close()
	if sh.DB.InMemory() {
		fmt.Fprintln(rl.Stdout(), "softdb: in-memory database (nothing is saved; run `softdb DIR` to keep data). Type .help for help.")
	} else {
		fmt.Fprintf(rl.Stdout(), "softdb: database %s. Type .help for help.\n", dir)
	}
	var buf strings.Builder
	for {
		if buf.Len() == 0 {
			rl.SetPrompt(prompt)
		} else {
			rl.SetPrompt(contPrompt)
		}
		line, err := rl.Readline()
		if errors.Is(err, readline.ErrInterrupt) {
			buf.Reset()
			continue
		}
		if err == io.EOF {
			return 0
		}
		if err != nil {
			fmt.Fprintf(sh.Err, "Error: %v\n", err)
			return 1
		}
		if buf.Len() == 0 && strings.HasPrefix(strings.TrimSpace(line), ".") {
			if quit := sh.dot(strings.TrimSpace(line)); quit {
				return 0
			}
			sh.Out.Flush()
			continue
		}
		buf.WriteString(line)
		buf.WriteByte('\n')
		for {
			text := buf.String()
			end := query.StatementEnd(text)
			if end < 0 {
				break
			}
			sh.runInteractive(text[:end])
			rest := strings.TrimLeft(text[end:], " \t\r\n")
			buf.Reset()
			buf.WriteString(rest)
		}
	}
}

// runInteractive runs statements; Ctrl-C cancels them, errors are printed
// and the session goes on.
func (sh *Shell) runInteractive(text string) {
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	defer cancel()
	if err := sh.ExecText(ctx, text, 1); err != nil {
		sh.Out.Flush()
		fmt.Fprintf(sh.Err, "Error: %v\n", err)
	}
	sh.Out.Flush()
}

// dot runs a dot command; it reports whether the shell should quit.
func (sh *Shell) dot(line string) bool {
	fields := strings.Fields(line)
	switch fields[0] {
	case ".quit", ".exit":
		return true
	case ".help":
		fmt.Fprint(sh.Out, helpText)
	case ".tables":
		sh.runInteractive("SHOW TABLES;")
	case ".schema":
		if len(fields) > 1 {
			sh.runInteractive("DESCRIBE " + fields[1] + ";")
		} else {
			sh.runInteractive("SHOW TABLES;")
		}
	case ".mode":
		if len(fields) != 2 || !validFormat(fields[1]) {
			fmt.Fprintln(sh.Err, "Error: usage: .mode table|csv|json|jsonl")
		} else {
			sh.Format = fields[1]
		}
	default:
		fmt.Fprintf(sh.Err, "Error: unknown command %s (try .help)\n", fields[0])
	}
	return false
}

const helpText = `.help              this help
.tables            list tables
.schema [TABLE]    show a table's columns
.mode FORMAT       output format: table, csv, json, jsonl
.quit              leave (or Ctrl-D)
Statements end with ";". Example:
  CREATE TABLE t (key VECTOR(2), value VECTOR(1));
  INSERT INTO t VALUES ([1,0],[10]), ([0,1],[20]);
  SOFT SELECT value FROM t MATCH [1,0] TEMPERATURE 1;
`
