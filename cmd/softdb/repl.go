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
	"sync"

	"github.com/chzyer/readline"
)

const (
	prompt       = "softdb> "
	contPrompt   = "   ...> "
	txPrompt     = "softdb*> " // a transaction is open, as psql's =*>
	txContPrompt = "    ...> "
)

// historyFile is where the REPL keeps its history across sessions.
const historyFile = ".softdb_history"

// runREPL is the interactive shell on a terminal: readline does the line
// editing and hands each line to Shell.Line.
func runREPL(sh *Shell, stdout, stderr io.Writer, banner string) int {
	hist := ""
	if home, err := os.UserHomeDir(); err == nil {
		hist = filepath.Join(home, historyFile)
		// Statements may hold private data: keep the history to its owner
		// (readline would create it readable by all).
		if f, err := os.OpenFile(hist, os.O_CREATE|os.O_RDONLY, 0o600); err == nil {
			f.Close()
		}
	}
	rl, err := readline.NewEx(&readline.Config{
		Prompt:                 prompt,
		HistoryFile:            hist,
		DisableAutoSaveHistory: true, // a statement of several lines is one entry
		HistorySearchFold:      true,
		AutoComplete:           &completer{sh: sh},
		InterruptPrompt:        "^C",
		Stdout:                 stdout,
		Stderr:                 stderr,
	})
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 1
	}
	defer rl.Close()
	fmt.Fprint(stdout, banner)

	// Ctrl-C at the prompt reaches readline as a key (the terminal is raw
	// then); while a statement runs it is a signal, which cancels the
	// statement and never ends the shell.
	var mu sync.Mutex
	var cancel context.CancelFunc
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt)
	defer func() {
		signal.Stop(sigs)
		close(sigs)
	}()
	go func() {
		for range sigs {
			mu.Lock()
			if cancel != nil {
				cancel()
			}
			mu.Unlock()
		}
	}()

	var entry []string // the lines of the statement being typed
	for {
		rl.SetPrompt(sh.prompt())
		line, err := rl.Readline()
		switch {
		case errors.Is(err, readline.ErrInterrupt):
			sh.ClearPending()
			entry = nil
			continue
		case err == io.EOF:
			return 0
		case err != nil:
			fmt.Fprintf(stderr, "Error: %v\n", err)
			return 1
		}
		entry = append(entry, line)
		ctx, c := context.WithCancel(context.Background())
		mu.Lock()
		cancel = c
		mu.Unlock()
		more := sh.Line(ctx, line)
		mu.Lock()
		cancel = nil
		mu.Unlock()
		c()
		if !sh.Pending() {
			saveHistory(rl, entry)
			entry = nil
		}
		if !more {
			return 0
		}
	}
}

// prompt is the prompt for the next line.
func (s *Shell) prompt() string {
	switch tx := s.Conn.InTx(); {
	case s.Pending() && tx:
		return txContPrompt
	case s.Pending():
		return contPrompt
	case tx:
		return txPrompt
	}
	return prompt
}

// saveHistory keeps a typed statement as one history entry, its lines
// joined, so that Up recalls it whole. The history file holds one entry a
// line, so a statement that joining would change — a "--" comment would
// swallow the lines after it, a string may span lines — is kept line by
// line instead.
func saveHistory(rl *readline.Instance, lines []string) {
	var parts []string
	split := false
	for _, l := range lines {
		if t := strings.TrimSpace(l); t != "" {
			parts = append(parts, t)
			split = split || strings.Contains(t, "--") || strings.Count(t, "'")%2 == 1
		}
	}
	if len(parts) == 0 {
		return
	}
	if split {
		for _, p := range parts {
			rl.SaveHistory(p)
		}
		return
	}
	rl.SaveHistory(strings.Join(parts, " "))
}
