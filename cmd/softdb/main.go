// Command softdb is the softdb shell: `softdb [flags] [DBDIR] [SQL]`.
//
// Without DBDIR (or with :memory:) the database lives in memory. With SQL
// it runs that text and exits; otherwise it reads statements from standard
// input when that is not a terminal, and starts the interactive shell when
// it is.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/softdb/softdb"
	"golang.org/x/term"
)

const usage = `usage: softdb [flags] [DBDIR] [SQL]

  DBDIR   database directory, created if missing; omitted or :memory: for
          an in-memory database
  SQL     statements to run; without it, statements are read from standard
          input, or an interactive shell starts on a terminal

flags:
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("softdb", flag.ContinueOnError)
	fs.SetOutput(stderr)
	format := fs.String("format", "table", "output format: table, csv, json or jsonl")
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if !validFormat(*format) {
		fmt.Fprintf(stderr, "Error: unknown --format %q (use table, csv, json or jsonl)\n", *format)
		return 2
	}
	rest := fs.Args()
	if len(rest) > 2 {
		fmt.Fprintf(stderr, "Error: too many arguments (%d); quote the SQL as one argument\n", len(rest))
		return 2
	}
	dir := softdb.Memory
	if len(rest) >= 1 {
		dir = rest[0]
	}
	db, err := softdb.Open(dir, nil)
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 1
	}
	defer db.Close()
	sh := NewShell(db, stdout, stderr, *format)
	defer sh.Conn.Close()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	switch {
	case len(rest) == 2:
		err = sh.ExecText(ctx, rest[1], 1)
	case !isTerminal(stdin):
		err = sh.RunScript(ctx, stdin)
	default:
		stop() // the REPL handles Ctrl-C itself
		return runREPL(sh, dir)
	}
	sh.Out.Flush()
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 1
	}
	return 0
}

func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
