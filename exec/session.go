// Package exec runs softdb statements: it binds a parsed statement against a
// storage snapshot, plans it (plans are plain data that EXPLAIN prints) and
// runs the plan. It imports query, storage, attention and formats, and is
// imported only by the root package.
package exec

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/softdb/softdb/query"
	"github.com/softdb/softdb/storage"
	"github.com/softdb/softdb/types"
)

// Engine executes statements against one storage.DB. It is safe for
// concurrent use; per-connection state (an open transaction) lives in a
// Session.
type Engine struct {
	db *storage.DB
	// memLimit bounds the memory one statement's plan may need (bytes);
	// a plan that would need more fails with ErrLimit before it runs.
	memLimit int64
	scans    scanShare // see sharedscan.go
}

// DefaultMemoryLimit is the per-statement memory limit unless one is set.
const DefaultMemoryLimit = 8 << 30

// New returns an engine over db. The engine does not own db.
func New(db *storage.DB) *Engine { return &Engine{db: db, memLimit: DefaultMemoryLimit} }

// SetMemoryLimit sets the per-statement memory limit in bytes (≤ 0: the
// default).
func (e *Engine) SetMemoryLimit(n int64) {
	if n <= 0 {
		n = DefaultMemoryLimit
	}
	e.memLimit = n
}

// Storage returns the engine's storage.
func (e *Engine) Storage() *storage.DB { return e.db }

// Result is the outcome of one statement. Rows is nil for statements that
// return no rows.
type Result struct {
	Columns      []string
	Types        []types.Type // Kind Null where the type is only known per value
	Rows         [][]types.Value
	RowsAffected int64
	LastInsertID int64
	HasRows      bool // the statement returns a relation (possibly empty)
}

// Session is one connection's state: at most one open transaction. A
// Session is not safe for concurrent use.
type Session struct {
	eng *Engine
	tx  *storage.Tx // explicit transaction (BEGIN … COMMIT), or nil
	// pinned, when set, is the only snapshot the session reads, and the
	// session refuses writes (a read-only view).
	pinned *storage.Snapshot
	// progress, when set, receives COPY … FROM progress.
	progress Progress
	// trainProgress, when set, receives TRAIN's progress (train.go).
	trainProgress TrainProgress
	// memLimit, when > 0, replaces the engine's per-statement memory
	// limit for this session (SET max_statement_memory).
	memLimit int64
	// indexScan is SET index_scan: auto (by cost), on or off.
	indexScan string
	// aborted is set when a statement inside BEGIN … COMMIT failed with an
	// internal error (a recovered panic): the transaction was rolled back,
	// and every statement but ROLLBACK fails with aborted until the
	// session ends it (ROLLBACK, or COMMIT, which reports it).
	aborted error
	// lockTimeout, when > 0, bounds the wait for the write lock (lock.go).
	lockTimeout time.Duration
}

// MemoryLimit is the per-statement memory limit of the session's
// statements, in bytes.
func (s *Session) MemoryLimit() int64 {
	if s.memLimit > 0 {
		return s.memLimit
	}
	return s.eng.memLimit
}

// set runs SET name = value. The one setting is max_statement_memory: a
// size ('16GB', '512MB', a number of bytes) or DEFAULT, the engine's
// limit. It lasts for the session, and is not undone by ROLLBACK.
func (s *Session) set(n *query.Set) error {
	if strings.EqualFold(n.Name.Name, "index_scan") {
		return s.setIndexScan(n)
	}
	if !strings.EqualFold(n.Name.Name, "max_statement_memory") {
		return errorf(ErrNotFound, n.Name.At, "unknown setting %q (the settings are max_statement_memory and index_scan)", n.Name.Name)
	}
	if strings.EqualFold(n.Value, "default") {
		s.memLimit = 0
		return nil
	}
	v, err := ParseMemorySize(n.Value)
	if err != nil {
		return errorf(ErrValue, n.ValueAt, "max_statement_memory: %v", err)
	}
	s.memLimit = v
	return nil
}

// setting returns the value of SHOW name, in a form SET accepts back.
func (s *Session) setting(n *query.ShowSetting) (string, error) {
	switch strings.ToLower(n.Name.Name) {
	case "max_statement_memory":
		return memorySizeText(s.MemoryLimit()), nil
	case "index_scan":
		if s.indexScan == "" {
			return "auto", nil
		}
		return s.indexScan, nil
	}
	return "", errorf(ErrNotFound, n.Name.At, "unknown setting %q (the settings are max_statement_memory and index_scan)", n.Name.Name)
}

// PinSnapshot makes the session read-only over the current committed state:
// every later statement sees that same snapshot.
func (s *Session) PinSnapshot() { s.pinned = s.eng.db.Snapshot() }

// NewSession starts a session on the engine.
func (e *Engine) NewSession() *Session { return &Session{eng: e} }

// InTx reports whether an explicit transaction is open (or aborted and
// waiting for ROLLBACK).
func (s *Session) InTx() bool { return s.tx != nil || s.aborted != nil }

// Close rolls back an open transaction.
func (s *Session) Close() {
	s.aborted = nil
	if s.tx != nil {
		s.tx.Rollback()
		s.tx = nil
	}
}

// abort ends the explicit transaction after an internal error in one of
// its statements: its writes may be half applied, so it is rolled back
// and the session refuses statements until ROLLBACK.
func (s *Session) abort(cause error) {
	if s.tx == nil {
		return
	}
	tx := s.tx
	s.tx = nil
	s.aborted = errorf(ErrTx, query.Pos{}, "the transaction was rolled back after an internal error (%v); end it with ROLLBACK", cause)
	func() {
		defer func() { _ = recover() }() // the rollback undoes in-memory state only
		tx.Rollback()
	}()
}

// Begin opens an explicit transaction.
func (s *Session) Begin(ctx context.Context) error {
	if s.pinned != nil {
		return errorf(ErrTx, query.Pos{}, "this is a read-only view: it cannot BEGIN")
	}
	if s.tx != nil {
		return errorf(ErrTx, query.Pos{}, "a transaction is already open (nested BEGIN)")
	}
	tx, err := s.beginTx(ctx)
	if err != nil {
		return err
	}
	s.tx = tx
	return nil
}

// Commit commits the explicit transaction.
func (s *Session) Commit() error { return s.CommitContext(context.Background()) }

// CommitContext commits the explicit transaction, waiting for the disk
// no longer than ctx allows (see storage.Tx.CommitContext).
func (s *Session) CommitContext(ctx context.Context) error {
	if s.tx == nil {
		return errorf(ErrTx, query.Pos{}, "COMMIT without an open transaction (BEGIN)")
	}
	tx := s.tx
	s.tx = nil
	return tx.CommitContext(ctx)
}

// Rollback discards the explicit transaction.
func (s *Session) Rollback() error {
	if s.tx == nil {
		return errorf(ErrTx, query.Pos{}, "ROLLBACK without an open transaction (BEGIN)")
	}
	s.tx.Rollback()
	s.tx = nil
	return nil
}

// snapshot is what reads see: the open transaction's view, or the latest
// committed state.
func (s *Session) snapshot() *storage.Snapshot {
	if s.pinned != nil {
		return s.pinned
	}
	if s.tx != nil {
		return s.tx.Snapshot()
	}
	return s.eng.db.Snapshot()
}

// write runs f in the open transaction, or in a transaction of its own that
// commits (synced) before write returns. A failed f leaves no trace: every
// storage.Tx method is all-or-nothing.
func (s *Session) write(ctx context.Context, f func(tx *storage.Tx) error) error {
	if s.pinned != nil {
		return errorf(ErrTx, query.Pos{}, "this is a read-only view: writes need a write transaction")
	}
	if s.tx != nil {
		return f(s.tx)
	}
	tx, err := s.beginTx(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := f(tx); err != nil {
		return err
	}
	return tx.CommitContext(ctx)
}

// Exec runs one parsed statement with the given parameter values.
func (s *Session) Exec(ctx context.Context, stmt query.Statement, params []types.Value) (res *Result, err error) {
	defer func() {
		// A bug must not take the process down with it: report it as an error.
		if r := recover(); r != nil {
			res, err = nil, fmt.Errorf("internal error in %s: %v", stmtName(stmt), r)
			s.abort(err)
		}
	}()
	if s.aborted != nil {
		switch stmt.(type) {
		case *query.Rollback:
			s.aborted = nil
			return &Result{}, nil
		case *query.Commit:
			err := s.aborted
			s.aborted = nil
			return nil, err
		}
		return nil, s.aborted
	}
	res = &Result{}
	if stmtHook != nil {
		stmtHook(s, stmt)
	}
	if ok, err := s.indexStmt(ctx, stmt, res); ok {
		if err != nil {
			return nil, err
		}
		return res, nil
	}
	switch n := stmt.(type) {
	case *query.Select:
		p, err := planSelect(s.snapshot(), n, params)
		if err != nil {
			return nil, err
		}
		p.memLimit, p.scans = s.MemoryLimit(), &s.eng.scans
		p.setIndexScan(s.indexScan)
		rows, err := runSelect(ctx, p)
		if err != nil {
			return nil, err
		}
		res.Columns, res.Types, res.Rows, res.HasRows = p.out.names, p.out.types, rows, true
	case *query.CreateTable:
		err = s.write(ctx, func(tx *storage.Tx) error { return createTable(tx, n) })
	case *query.DropTable:
		err = s.write(ctx, func(tx *storage.Tx) error { return dropTable(tx, n) })
	case *query.Insert:
		err = s.write(ctx, func(tx *storage.Tx) error {
			var e error
			res.RowsAffected, res.LastInsertID, e = insert(tx, n, params)
			return e
		})
	case *query.Update:
		err = s.write(ctx, func(tx *storage.Tx) error {
			var e error
			res.RowsAffected, e = update(ctx, tx, n, params)
			return e
		})
	case *query.Delete:
		err = s.write(ctx, func(tx *storage.Tx) error {
			var e error
			res.RowsAffected, e = deleteRows(ctx, tx, n, params)
			return e
		})
	case *query.Copy:
		err = s.copy(ctx, n, res)
	case *query.ShowTables:
		res.Columns = []string{"name", "rows"}
		res.Types = []types.Type{{Kind: types.Text}, {Kind: types.Int}}
		res.HasRows = true
		for _, t := range s.snapshot().Tables() {
			res.Rows = append(res.Rows, []types.Value{types.TextValue(t.Schema().Name), types.IntValue(t.LiveRows())})
		}
	case *query.Describe:
		t, err := tableOf(s.snapshot(), n.Table)
		if err != nil {
			return nil, err
		}
		res.Columns = []string{"column", "type", "not_null", "primary_key"}
		res.Types = []types.Type{{Kind: types.Text}, {Kind: types.Text}, {Kind: types.Int}, {Kind: types.Int}}
		res.HasRows = true
		match := matchColumn(t.Schema())
		for i, c := range t.Schema().Columns {
			typ := c.Type.String()
			if i == match {
				typ += " (match column)"
			}
			if c.Generated != "" {
				typ += " GENERATED ALWAYS AS (" + c.Generated + ") STORED"
			}
			res.Rows = append(res.Rows, []types.Value{types.TextValue(c.Name), types.TextValue(typ), boolValue(c.NotNull), boolValue(c.PrimaryKey)})
		}
		describeIndexes(t, res)
	case *query.Explain:
		lines, err := s.explain(ctx, n, params)
		if err != nil {
			return nil, err
		}
		res.Columns = []string{"plan"}
		res.Types = []types.Type{{Kind: types.Text}}
		res.HasRows = true
		for _, l := range lines {
			res.Rows = append(res.Rows, []types.Value{types.TextValue(l)})
		}
	case *query.Set:
		err = s.set(n)
	case *query.ShowSetting:
		var v string
		if v, err = s.setting(n); err == nil {
			res.Columns, res.Types, res.HasRows = []string{strings.ToLower(n.Name.Name)}, []types.Type{{Kind: types.Text}}, true
			res.Rows = [][]types.Value{{types.TextValue(v)}}
		}
	case *query.Begin:
		err = s.Begin(ctx)
	case *query.Commit:
		err = s.CommitContext(ctx)
	case *query.Rollback:
		err = s.Rollback()
	default:
		var handled bool // projections and TRAIN (projection.go)
		if handled, err = s.execLearn(ctx, stmt, params, res); !handled {
			return nil, errorf(ErrUnsupported, stmt.Position(), "unsupported statement %T", stmt)
		}
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}

// stmtHook, set by tests, runs before each statement (to inject a panic).
var stmtHook func(*Session, query.Statement)

func stmtName(stmt query.Statement) string {
	t := fmt.Sprintf("%T", stmt)
	return strings.ToUpper(strings.TrimPrefix(t, "*query."))
}
