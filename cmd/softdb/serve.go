package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/softdb/softdb"
	"github.com/softdb/softdb/server"
)

const serveUsage = `usage: softdb serve [flags] [DBDIR]

Serves the database over the PostgreSQL wire protocol: connect with
psql -h 127.0.0.1 -p 5433, psycopg, pgx, JDBC … Without DBDIR the
database lives in memory. SIGTERM or Ctrl-C stops accepting, ends the
statements running and closes the database cleanly.

flags:
`

// runServe is `softdb serve`.
func runServe(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("softdb serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", server.DefaultListen, "address to listen on, HOST:PORT; a non-loopback address needs --password-file")
	pwFile := fs.String("password-file", "", "file of user:password lines; clients then authenticate with SCRAM-SHA-256")
	cert := fs.String("tls-cert", "", "TLS certificate (PEM), with --tls-key: clients may connect with sslmode=require")
	key := fs.String("tls-key", "", "TLS private key (PEM)")
	maxConns := fs.Int("max-connections", server.DefaultMaxConnections, "sessions open at once; one more gets error 53300")
	files := fs.String("files", "", "directory COPY … FROM/TO 'path' may use (default: none; COPY … FROM STDIN / TO STDOUT always works)")
	lockTimeout := fs.Duration("lock-timeout", server.DefaultLockTimeout, "how long a write waits for another session's write transaction (then error 55P03)")
	idleTx := fs.Duration("idle-in-transaction-timeout", server.DefaultIdleTxTimeout, "end sessions idle inside a transaction this long (rolled back)")
	maxMemory := fs.String("max-memory", "", "memory one statement may plan for, e.g. 16GB (default 8GB)")
	fs.Usage = func() {
		fmt.Fprint(stderr, serveUsage)
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	rest := fs.Args()
	if len(rest) > 1 {
		fmt.Fprintf(stderr, "Error: softdb serve takes at most one DBDIR, got %d arguments\n", len(rest))
		return 2
	}
	cfg := server.Config{MaxConnections: *maxConns, LockTimeout: *lockTimeout, IdleTxTimeout: *idleTx,
		Logf: func(format string, a ...any) { fmt.Fprintf(stderr, "softdb serve: "+format+"\n", a...) }}
	if *pwFile != "" {
		pw, err := server.ReadPasswordFile(*pwFile)
		if err != nil {
			fmt.Fprintf(stderr, "Error: --password-file: %v\n", err)
			return 2
		}
		cfg.Passwords = pw
	}
	if err := server.CheckListen(*listen, cfg.Passwords != nil); err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 2
	}
	if (*cert == "") != (*key == "") {
		fmt.Fprintln(stderr, "Error: --tls-cert and --tls-key go together")
		return 2
	}
	if *cert != "" {
		kp, err := tls.LoadX509KeyPair(*cert, *key)
		if err != nil {
			fmt.Fprintf(stderr, "Error: TLS: %v\n", err)
			return 2
		}
		cfg.TLS = &tls.Config{Certificates: []tls.Certificate{kp}, MinVersion: tls.VersionTLS12}
	}
	if *files != "" {
		abs, err := filepath.Abs(*files)
		if err == nil {
			var st os.FileInfo
			if st, err = os.Stat(abs); err == nil && !st.IsDir() {
				err = errors.New("not a directory")
			}
		}
		if err != nil {
			fmt.Fprintf(stderr, "Error: --files %s: %v\n", *files, err)
			return 2
		}
		cfg.FilesDir = abs
	}
	dir := softdb.Memory
	if len(rest) == 1 {
		dir = rest[0]
	}
	db, code := openDatabase(dir, &softdb.Options{}, *maxMemory, stderr)
	if db == nil {
		return code
	}
	srv := server.New(db, cfg)
	ln, err := srv.Listen(*listen)
	if err != nil {
		db.Close()
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 1
	}
	where := "database " + dir
	if db.InMemory() {
		where = "in-memory database (nothing is saved; give a DBDIR to keep data)"
	}
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	fmt.Fprintf(stdout, "softdb: serving %s on %s (PostgreSQL protocol; psql -h %s -p %s)\n", where, ln.Addr(), host, port)
	if f, ok := stdout.(*os.File); ok {
		_ = f.Sync()
	}

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	defer signal.Stop(sig)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case s := <-sig:
		fmt.Fprintf(stderr, "softdb serve: %v: shutting down\n", s)
	case err := <-served:
		if !errors.Is(err, server.ErrServerClosed) {
			fmt.Fprintf(stderr, "Error: %v\n", err)
			db.Close()
			return 1
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		fmt.Fprintf(stderr, "softdb serve: shutdown: %v\n", err)
	}
	if err := db.Close(); err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 1
	}
	return 0
}

// parseFlags parses args; when it returns false the command exits with
// code (0 after -h, 2 for a bad flag, which the flag set has reported).
func parseFlags(fs *flag.FlagSet, args []string) (code int, ok bool) {
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0, false
		}
		return 2, false
	}
	return 0, true
}

// openDatabase opens dir with opts and the --max-memory flag's value (""
// for the default); on failure it reports the error and returns the exit
// code: 2 for a bad flag, 1 for a database that does not open.
func openDatabase(dir string, opts *softdb.Options, maxMemory string, stderr io.Writer) (*softdb.DB, int) {
	if maxMemory != "" {
		var err error
		if opts.MaxStatementMemory, err = softdb.ParseMemorySize(maxMemory); err != nil {
			fmt.Fprintf(stderr, "Error: --max-memory: %v\n", err)
			return nil, 2
		}
	}
	db, err := softdb.Open(dir, opts)
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return nil, 1
	}
	return db, 0
}
