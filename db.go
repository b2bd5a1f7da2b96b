package softdb

import (
	"context"
	"fmt"
	"sync"

	"github.com/softdb/softdb/exec"
	"github.com/softdb/softdb/query"
	"github.com/softdb/softdb/storage"
	"github.com/softdb/softdb/types"
)

// Memory is the path that opens a database that lives in memory only.
const Memory = ":memory:"

// DB is an open softdb database. It is safe for concurrent use by many
// goroutines: each call runs in its own implicit transaction, readers see a
// consistent snapshot and never wait for writers, and writers take turns.
type DB struct {
	path   string
	store  *storage.DB
	engine *exec.Engine

	mu     sync.RWMutex
	closed bool
}

// Open opens (creating if needed) the database in directory path, or an
// in-memory database when path is "" or ":memory:". opts may be nil. A
// directory open in another process, or already open in this one, gives an
// error matching ErrLocked.
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
	st, err := storage.Open(storage.Options{Dir: path, SegmentRows: o.SegmentRows, CacheSize: o.CacheSize})
	if err != nil {
		return nil, wrapErr(err)
	}
	return &DB{path: path, store: st, engine: exec.New(st)}, nil
}

// Path is the directory the database was opened with (":memory:" for an
// in-memory database).
func (db *DB) Path() string { return db.path }

// InMemory reports whether the database lives only in memory.
func (db *DB) InMemory() bool { return db.path == Memory }

// Close closes the database. Statements running concurrently finish first
// is not guaranteed: close only when no call is in flight.
func (db *DB) Close() error {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed {
		return nil
	}
	db.closed = true
	return db.store.Close()
}

func (db *DB) check() error {
	if db.closed {
		return ErrClosed
	}
	return nil
}

// Result reports what a statement that returns no rows did.
type Result struct {
	RowsAffected int64 // rows inserted, updated or deleted
	LastInsertID int64 // rowid of the last row inserted
}

// Exec runs one or more statements separated by semicolons, each in its own
// implicit transaction (BEGIN/COMMIT in the text are refused: use Begin, or
// a Conn). args fill ? and $n placeholders. It returns the Result of the
// last statement.
func (db *DB) Exec(ctx context.Context, sql string, args ...any) (Result, error) {
	c := db.newConn()
	defer c.sess.Close()
	return c.exec(ctx, sql, args, false)
}

// Query runs one statement and returns its rows.
func (db *DB) Query(ctx context.Context, sql string, args ...any) (*Rows, error) {
	c := db.newConn()
	defer c.sess.Close()
	return c.query(ctx, sql, args)
}

// QueryRow runs a query expected to return at most one row. Errors are
// deferred to Row.Scan.
func (db *DB) QueryRow(ctx context.Context, sql string, args ...any) *Row {
	rows, err := db.Query(ctx, sql, args...)
	return &Row{rows: rows, err: err}
}

// Conn returns a connection: a session whose statements may include BEGIN,
// COMMIT and ROLLBACK, as in the softdb shell. A Conn is not safe for
// concurrent use; Close it to roll back an open transaction.
func (db *DB) Conn() *Conn { return db.newConn() }

func (db *DB) newConn() *Conn {
	return &Conn{db: db, sess: db.engine.NewSession(), allowTx: true}
}

// Conn is one session of a DB. See DB.Conn.
type Conn struct {
	db      *DB
	sess    *exec.Session
	allowTx bool // SQL BEGIN/COMMIT/ROLLBACK are accepted
}

// Exec runs one or more statements, like DB.Exec, but transaction control
// statements are allowed and stay in effect across calls.
func (c *Conn) Exec(ctx context.Context, sql string, args ...any) (Result, error) {
	return c.exec(ctx, sql, args, true)
}

// Query runs one statement and returns its rows.
func (c *Conn) Query(ctx context.Context, sql string, args ...any) (*Rows, error) {
	return c.query(ctx, sql, args)
}

// InTx reports whether a transaction is open on the connection.
func (c *Conn) InTx() bool { return c.sess.InTx() }

// Close rolls back an open transaction.
func (c *Conn) Close() error {
	c.sess.Close()
	return nil
}

// Statement is the result of running one statement of a script with
// Conn.Run: either rows (Columns non-nil) or a Result.
type Statement struct {
	Columns []string
	Rows    [][]any
	Result  Result
}

// Run parses and runs a single statement, returning its rows whatever its
// kind. It is what the softdb shell uses.
func (c *Conn) Run(ctx context.Context, stmt query.Statement, args ...any) (*Statement, error) {
	res, err := c.run(ctx, stmt, args, true)
	if err != nil {
		return nil, err
	}
	out := &Statement{Result: Result{RowsAffected: res.RowsAffected, LastInsertID: res.LastInsertID}}
	if res.HasRows {
		out.Columns = res.Columns
		out.Rows = make([][]any, len(res.Rows))
		for i, r := range res.Rows {
			out.Rows[i] = toGo(r)
		}
	}
	return out, nil
}

func (c *Conn) run(ctx context.Context, stmt query.Statement, args []any, allowTx bool) (*exec.Result, error) {
	c.db.mu.RLock()
	defer c.db.mu.RUnlock()
	if err := c.db.check(); err != nil {
		return nil, err
	}
	switch stmt.(type) {
	case *query.Begin, *query.Commit, *query.Rollback:
		if !allowTx {
			return nil, &classified{ErrTx, fmt.Errorf("%s: transaction statements need a Conn or DB.Begin (DB.Exec runs each statement in its own transaction)", stmt.Position())}
		}
	}
	params, err := toValues(args)
	if err != nil {
		return nil, err
	}
	if ctx == nil {
		ctx = context.Background()
	}
	res, err := c.sess.Exec(ctx, stmt, params)
	return res, wrapErr(err)
}

func (c *Conn) exec(ctx context.Context, sql string, args []any, allowTx bool) (Result, error) {
	stmts, err := query.Parse(sql)
	if err != nil {
		return Result{}, wrapErr(err)
	}
	var last Result
	for _, st := range stmts {
		res, err := c.run(ctx, st, args, allowTx && c.allowTx)
		if err != nil {
			return last, err
		}
		last = Result{RowsAffected: res.RowsAffected, LastInsertID: res.LastInsertID}
	}
	return last, nil
}

func (c *Conn) query(ctx context.Context, sql string, args []any) (*Rows, error) {
	st, err := query.ParseOne(sql)
	if err != nil {
		return nil, wrapErr(err)
	}
	res, err := c.run(ctx, st, args, c.allowTx)
	if err != nil {
		return nil, err
	}
	return newRows(res), nil
}

// toValues converts Go arguments to softdb values.
func toValues(args []any) ([]types.Value, error) {
	out := make([]types.Value, len(args))
	for i, a := range args {
		v, err := ToValue(a)
		if err != nil {
			return nil, &classified{ErrType, fmt.Errorf("parameter $%d: %v", i+1, err)}
		}
		out[i] = v
	}
	return out, nil
}

// ToValue converts a Go value to a softdb value: nil; bool; signed and
// unsigned integers; float32/64; string; []float32 and []float64 (VECTOR).
func ToValue(a any) (types.Value, error) {
	switch x := a.(type) {
	case nil:
		return types.Value{}, nil
	case types.Value:
		return x, nil
	case bool:
		if x {
			return types.IntValue(1), nil
		}
		return types.IntValue(0), nil
	case int:
		return types.IntValue(int64(x)), nil
	case int8:
		return types.IntValue(int64(x)), nil
	case int16:
		return types.IntValue(int64(x)), nil
	case int32:
		return types.IntValue(int64(x)), nil
	case int64:
		return types.IntValue(x), nil
	case uint8:
		return types.IntValue(int64(x)), nil
	case uint16:
		return types.IntValue(int64(x)), nil
	case uint32:
		return types.IntValue(int64(x)), nil
	case uint:
		if uint64(x) > 1<<63-1 {
			return types.Value{}, fmt.Errorf("%d overflows INT", x)
		}
		return types.IntValue(int64(x)), nil
	case uint64:
		if x > 1<<63-1 {
			return types.Value{}, fmt.Errorf("%d overflows INT", x)
		}
		return types.IntValue(int64(x)), nil
	case float32:
		return types.FloatValue(float64(x)), nil
	case float64:
		return types.FloatValue(x), nil
	case string:
		return types.TextValue(x), nil
	case []byte:
		return types.TextValue(string(x)), nil
	case []float32:
		if x == nil {
			return types.Value{}, nil
		}
		v := make([]float32, len(x)) // the caller may reuse its slice
		copy(v, x)
		return types.VectorValue(v), nil
	case []float64:
		if x == nil {
			return types.Value{}, nil
		}
		v := make([]float32, len(x))
		for i, f := range x {
			e, err := types.CheckElement(f)
			if err != nil {
				return types.Value{}, fmt.Errorf("element %d: %v", i+1, err)
			}
			v[i] = e
		}
		return types.VectorValue(v), nil
	}
	return types.Value{}, fmt.Errorf("unsupported Go type %T", a)
}

// toGo converts a result row to Go values: nil, int64, float64, string,
// []float32.
func toGo(r []types.Value) []any {
	out := make([]any, len(r))
	for i, v := range r {
		switch v.K {
		case types.Int:
			out[i] = v.I
		case types.Float:
			out[i] = v.F
		case types.Text:
			out[i] = v.S
		case types.Vector:
			out[i] = v.V
		}
	}
	return out
}
