// Command softdb is the softdb shell: `softdb [flags] [DBDIR] [SQL]`.
//
// Without DBDIR (or with :memory:) the database lives in memory. With SQL
// it runs that text and exits; otherwise it reads statements from standard
// input when that is not a terminal, and starts the interactive shell when
// it is.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"

	"github.com/softdb/softdb"
	"golang.org/x/term"
)

const usage = `usage: softdb [flags] [DBDIR] [SQL]

  DBDIR   database directory, created if missing; omitted or :memory: for
          an in-memory database
  SQL     statements to run; without it, statements are read from standard
          input, or an interactive shell starts on a terminal

Try: softdb --demo
Serve it to PostgreSQL clients: softdb serve [flags] [DBDIR]

flags:
`

// gcFloor is heap the garbage collector counts as live but the process
// never touches (a fresh large allocation is not written, so it costs
// address space, not memory): Go's heap goal is twice the live heap and
// at least 4 MiB, so without it a script of many short statements, each
// allocating a few KiB to parse and plan, would collect every few hundred
// statements. With it the goal is at least 32 MiB: 1,000,000 `SELECT 1;`
// from a pipe ran 1.2–1.6× faster (paired runs, 2 cores), for about
// 20 MiB more resident memory.
var gcFloor []byte

func main() {
	gcFloor = make([]byte, 16<<20)
	code := run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	runtime.KeepAlive(gcFloor)
	os.Exit(code)
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "serve" {
		return runServe(args[1:], stdout, stderr) // serve.go
	}
	fs := flag.NewFlagSet("softdb", flag.ContinueOnError)
	fs.SetOutput(stderr)
	format := fs.String("format", "table", "output format: table, csv, json or jsonl")
	demo := fs.Bool("demo", false, "load the demo tables (library, digits) first")
	maxMemory := fs.String("max-memory", "", "memory one statement may plan for, e.g. 16GB (default 8GB; SET max_statement_memory changes it per session)")
	readonly := fs.Bool("readonly", false, "open the database without writing to its directory; statements that write fail")
	recover := fs.Bool("recover", false, "open a database whose write-ahead log or MANIFEST is damaged, keeping what is readable\n(what follows the damage is lost; copy the directory first)")
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args); !ok {
		return code
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
	var err error
	dir := softdb.Memory
	if len(rest) >= 1 {
		dir = rest[0]
	}
	db, code := openDatabase(dir, &softdb.Options{ReadOnly: *readonly, Recover: *recover}, *maxMemory, stderr)
	if db == nil {
		return code
	}
	defer db.Close()
	sh := NewShell(db, stdout, stderr, *format)
	defer sh.Close()
	if isTerminal(stderr) {
		sh.progress = &copyProgress{w: stderr}
		sh.Conn.SetProgress(sh.progress.update)
		sh.Conn.SetTrainProgress(sh.progress.train)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	interactive := len(rest) < 2 && isTerminal(stdin)
	if interactive {
		sh.Msg = stdout
		sh.Screen = isTerminal(stdout)
		// https://no-color.org
		sh.Color = sh.Screen && os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb"
	}
	if *demo {
		if err := sh.loadDemo(ctx); err != nil {
			fmt.Fprintf(stderr, "Error: %v\n", err)
			return 1
		}
	}
	switch {
	case len(rest) == 2:
		err = sh.RunScript(ctx, strings.NewReader(rest[1]))
	case !interactive:
		err = sh.RunScript(ctx, stdin)
	default:
		stop() // the REPL handles Ctrl-C itself
		return runREPL(sh, stdout, stderr, banner(db, *demo))
	}
	if ferr := sh.flush(); err == nil {
		err = ferr
	}
	if err != nil && !errors.Is(err, errQuit) {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 1
	}
	return 0
}

func isTerminal(r any) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// banner greets the person starting the REPL: where the data live and how
// to begin.
func banner(db *softdb.DB, demo bool) string {
	var b strings.Builder
	if db.InMemory() {
		b.WriteString("softdb: in-memory database (nothing is saved; run `softdb DIR` to keep data).\n")
	} else {
		fmt.Fprintf(&b, "softdb: database %s.\n", db.Path())
	}
	if demo {
		b.WriteString(demoText + tryText)
	} else {
		b.WriteString("New here? .demo loads example tables to try SOFT and HARD SELECT on.\n")
	}
	b.WriteString("Type .help for help, .quit or Ctrl-D to leave.\n")
	return b.String()
}
