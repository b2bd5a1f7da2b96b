package softdb

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/softdb/softdb/exec"
	"github.com/softdb/softdb/query"
	"github.com/softdb/softdb/storage"
)

// Memory is the path that opens a database living in memory only: nothing
// is written to disk, and every Open of it is a new, empty database.
const Memory = ":memory:"

// DB is an open softdb database. It is safe for concurrent use by any
// number of goroutines. Each DB.Exec, DB.Query and Stmt call runs in its own
// implicit transaction. Readers work on a consistent snapshot of the
// committed state and never wait; writers (statements that change data, and
// write transactions from Begin or Update) take turns, one at a time.
type DB struct {
	path   string
	store  *storage.DB
	engine *exec.Engine

	mu       sync.Mutex
	closed   bool
	inflight sync.WaitGroup    // calls running; Close waits for them
	sessions map[*session]bool // Conns and write Txs: Close rolls them back
}

// Open opens the database in directory path, creating the directory and
// an empty database if needed, or a new in-memory database when path is
// Memory or "". opts may be nil for the defaults.
//
// One directory can be open in one DB at a time: opening a directory that
// another process, or another DB of this process, has open fails with an
// error matching ErrLocked. To share one database between parts of a
// program, share the *DB (the driver package does that for database/sql).
func Open(path string, opts *Options) (*DB, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	o.EnsureDefaults()
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if path == "" {
		path = Memory
	}
	st, err := storage.Open(storage.Options{Dir: path, SegmentRows: o.SegmentRows, CacheSize: o.CacheSize,
		ReadOnly: o.ReadOnly, Recover: o.Recover, AssignLists: exec.AssignLists})
	if err != nil {
		if errors.Is(err, storage.ErrLocked) {
			return nil, errorf(ErrLocked, "softdb: database %s is locked: another process, or another DB in this one, has it open", path)
		}
		return nil, fmt.Errorf("softdb: open %s: %w", path, wrapErr(err))
	}
	eng := exec.New(st)
	eng.SetMemoryLimit(o.MaxStatementMemory)
	return &DB{path: path, store: st, engine: eng, sessions: map[*session]bool{}}, nil
}

// Path returns the path the database was opened with (Memory for an
// in-memory database).
func (db *DB) Path() string { return db.path }

// InMemory reports whether the database lives only in memory.
func (db *DB) InMemory() bool { return db.path == Memory }

// Close closes the database and releases its directory. Calls that have
// started run to completion first; later calls return ErrClosed. Write
// transactions still open (Tx, or BEGIN on a Conn) are rolled back, and
// their later use returns ErrClosed. Rows already returned stay readable.
// Close is idempotent.
func (db *DB) Close() error {
	db.mu.Lock()
	if db.closed {
		db.mu.Unlock()
		return nil
	}
	db.closed = true
	open := db.sessions
	db.sessions = nil
	db.mu.Unlock()

	// End the sessions concurrently: one may be waiting in BEGIN for the
	// writer lock that another holds, so a fixed order could deadlock.
	var wg sync.WaitGroup
	for s := range open {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.end(ErrClosed)
		}()
	}
	wg.Wait()
	db.inflight.Wait()
	if err := db.store.Close(); err != nil {
		return fmt.Errorf("softdb: close %s: %w", db.path, err)
	}
	return nil
}

// enter registers a call in flight; it fails once Close has begun.
func (db *DB) enter() error {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed {
		return ErrClosed
	}
	db.inflight.Add(1)
	return nil
}

func (db *DB) leave() { db.inflight.Done() }

// register records a session that Close must end; false once Close has
// begun.
func (db *DB) register(s *session) bool {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed {
		return false
	}
	db.sessions[s] = true
	return true
}

func (db *DB) unregister(s *session) {
	db.mu.Lock()
	delete(db.sessions, s)
	db.mu.Unlock()
}

// Result reports what a statement that returns no rows did.
type Result struct {
	RowsAffected int64 // rows inserted, updated or deleted
	LastInsertID int64 // rowid of the last row inserted
}

// Exec runs one statement, or several separated by semicolons, each in its
// own implicit transaction: when one fails, those before it stay
// committed. BEGIN, COMMIT and ROLLBACK are refused (use Begin, Update or a
// Conn). args fill the ? and $n placeholders; "?" counts from 1 in each
// statement, so several statements share the arguments. Exec returns the
// Result of the last statement.
//
// A statement that writes waits for the write transaction of another
// goroutine (Begin, Update) to end, for as long as ctx allows; from the
// goroutine that holds one, write through its Tx instead.
func (db *DB) Exec(ctx context.Context, sql string, args ...any) (Result, error) {
	return db.newSession().execText(ctx, sql, args, false)
}

// Query runs one statement and returns its rows, computed from one
// snapshot of the committed state. The caller should Close the Rows.
func (db *DB) Query(ctx context.Context, sql string, args ...any) (*Rows, error) {
	return db.newSession().query(ctx, sql, args, false)
}

// QueryRow runs a query expected to return at most one row. Errors are
// deferred to Row.Scan.
func (db *DB) QueryRow(ctx context.Context, sql string, args ...any) *Row {
	rows, err := db.Query(ctx, sql, args...)
	return &Row{rows: rows, err: err}
}

// Conn returns a connection: a session, like one softdb shell, whose
// statements may include BEGIN, COMMIT and ROLLBACK; an open transaction
// stays open across calls. A Conn is not safe for concurrent use. Close it
// when done: Close rolls back a transaction it left open.
func (db *DB) Conn() *Conn {
	s := db.newSession()
	if !db.register(s) {
		s.err = ErrClosed
	}
	return &Conn{s: s}
}

// Conn is one session of a DB. See DB.Conn.
type Conn struct {
	s *session
}

var errConnClosed = errors.New("softdb: connection is closed")

// Exec runs one or more statements, like DB.Exec, except that BEGIN,
// COMMIT and ROLLBACK are allowed and a transaction stays open across
// calls until COMMIT, ROLLBACK or Close.
func (c *Conn) Exec(ctx context.Context, sql string, args ...any) (Result, error) {
	return c.s.execText(ctx, sql, args, true)
}

// Query runs one statement and returns its rows. Inside a transaction it
// sees the transaction's own writes.
func (c *Conn) Query(ctx context.Context, sql string, args ...any) (*Rows, error) {
	return c.s.query(ctx, sql, args, true)
}

// InTx reports whether a transaction is open on the connection.
func (c *Conn) InTx() bool {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	return c.s.err == nil && c.s.sess.InTx()
}

// SetProgress installs fn to receive the progress of later COPY … FROM
// statements on this connection: rows loaded so far and the total when the
// files tell it in advance (else -1). fn runs on the statement's goroutine;
// nil removes it.
func (c *Conn) SetProgress(fn func(done, total int64)) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	c.s.sess.SetProgress(fn)
}

// Close rolls back an open transaction and ends the connection. It is
// idempotent.
func (c *Conn) Close() error {
	c.s.end(errConnClosed)
	c.s.db.unregister(c.s)
	return nil
}

// Statement is the outcome of one statement run with Conn.Run: its rows
// when it returns rows (Columns non-nil, possibly with no Rows), else
// its Result. Rows hold nil, int64, float64, string or []float32;
// the vectors are shared with the database and must not be modified.
type Statement struct {
	Columns []string
	Types   []ColumnType // per column; Kind "" where only known per value
	Rows    [][]any
	Result  Result
}

// Run runs one parsed statement, whatever its kind, and returns its
// outcome. It is what the softdb shell uses: parse a script with
// query.Parse, then Run each statement as it comes.
func (c *Conn) Run(ctx context.Context, stmt query.Statement, args ...any) (*Statement, error) {
	params, err := bindArgs(numParams([]query.Statement{stmt}), args)
	if err != nil {
		return nil, err
	}
	res, err := c.s.run(ctx, stmt, params, true)
	if err != nil {
		return nil, err
	}
	out := &Statement{Result: Result{RowsAffected: res.RowsAffected, LastInsertID: res.LastInsertID}}
	if res.HasRows {
		out.Columns = res.Columns
		out.Types = columnTypes(res.Columns, res.Types)
		if out.Columns == nil {
			out.Columns = []string{}
		}
		out.Rows = make([][]any, len(res.Rows))
		for i, r := range res.Rows {
			out.Rows[i] = toGo(r)
		}
	}
	return out, nil
}

// Ping reports whether the database is open: nil, or ErrClosed.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.enter(); err != nil {
		return err
	}
	db.leave()
	if ctx != nil {
		return ctx.Err()
	}
	return nil
}
