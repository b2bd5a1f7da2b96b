package softdb

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/softdb/softdb/exec"
	"github.com/softdb/softdb/query"
)

// Stmt is a prepared statement: parsed once by Prepare, run many times
// with different arguments. A Stmt is safe for concurrent use (each call
// runs in its own implicit transaction, like DB.Exec), except one returned
// by Tx.Stmt, which belongs to its transaction.
type Stmt struct {
	db      *DB
	text    string
	st      query.Statement // never modified after Prepare
	nparams int
	tx      *Tx   // non-nil: runs inside this transaction
	parent  *Stmt // for a Tx's Stmt: the prepared statement it came from
	closed  atomic.Bool
}

var errStmtClosed = errors.New("softdb: statement is closed")

// Prepare parses one statement for later use. Syntax errors, and
// BEGIN/COMMIT/ROLLBACK (a Stmt runs on the DB or in a Tx), are reported
// here; everything that depends on the data, such as unknown tables, when
// the statement runs, because tables may change in between. ctx is
// accepted for symmetry; parsing does not block.
func (db *DB) Prepare(ctx context.Context, sql string) (*Stmt, error) {
	st, err := query.ParseOne(sql)
	if err != nil {
		return nil, wrapErr(err)
	}
	if err := checkNoTxControl(st); err != nil {
		return nil, err
	}
	if err := db.enter(); err != nil {
		return nil, err
	}
	db.leave()
	return &Stmt{db: db, text: sql, st: st, nparams: numParams([]query.Statement{st})}, nil
}

// NumInput returns the number of arguments the statement takes: the
// highest ? or $n placeholder number.
func (s *Stmt) NumInput() int { return s.nparams }

// String returns the statement's text as given to Prepare.
func (s *Stmt) String() string { return s.text }

// Exec runs the statement and returns its Result.
func (s *Stmt) Exec(ctx context.Context, args ...any) (Result, error) {
	res, err := s.run(ctx, args)
	if err != nil {
		return Result{}, err
	}
	return Result{RowsAffected: res.RowsAffected, LastInsertID: res.LastInsertID}, nil
}

// Query runs the statement and returns its rows.
func (s *Stmt) Query(ctx context.Context, args ...any) (*Rows, error) {
	res, err := s.run(ctx, args)
	if err != nil {
		return nil, err
	}
	return newRows(res), nil
}

// QueryRow runs the statement, expecting at most one row. Errors are
// deferred to Row.Scan.
func (s *Stmt) QueryRow(ctx context.Context, args ...any) *Row {
	rows, err := s.Query(ctx, args...)
	return &Row{rows: rows, err: err}
}

// Close releases the statement; later calls return an error. Closing the
// Stmt of a Tx does not close the Stmt it came from. Close is idempotent.
func (s *Stmt) Close() error {
	s.closed.Store(true)
	return nil
}

func (s *Stmt) run(ctx context.Context, args []any) (*exec.Result, error) {
	if s.closed.Load() || s.parent != nil && s.parent.closed.Load() {
		return nil, errStmtClosed
	}
	params, err := bindArgsFor(s.st, s.nparams, args)
	if err != nil {
		return nil, err
	}
	if s.tx != nil {
		if s.tx.s.db != s.db {
			return nil, errorf(ErrTx, "softdb: Tx.Stmt: the statement was prepared on another DB")
		}
		return s.tx.s.run(ctx, s.st, params, false)
	}
	return s.db.newSession().run(ctx, s.st, params, false)
}
