package softdb

import (
	"context"
)

// Tx is an explicit transaction: its statements see its own writes, other
// readers see none of them until Commit, which makes them durable at once.
// One write transaction runs at a time; Begin waits for the previous one
// (or for ctx). A Tx is not safe for concurrent use.
type Tx struct {
	conn *Conn
	done bool
}

// Begin starts a transaction.
func (db *DB) Begin(ctx context.Context) (*Tx, error) {
	db.mu.RLock()
	defer db.mu.RUnlock()
	if err := db.check(); err != nil {
		return nil, err
	}
	c := db.newConn()
	c.allowTx = false
	if err := c.sess.Begin(ctx); err != nil {
		return nil, wrapErr(err)
	}
	return &Tx{conn: c}, nil
}

// Exec runs statements inside the transaction.
func (tx *Tx) Exec(ctx context.Context, sql string, args ...any) (Result, error) {
	if tx.done {
		return Result{}, ErrTxDone
	}
	return tx.conn.exec(ctx, sql, args, false)
}

// Query runs a query inside the transaction.
func (tx *Tx) Query(ctx context.Context, sql string, args ...any) (*Rows, error) {
	if tx.done {
		return nil, ErrTxDone
	}
	return tx.conn.query(ctx, sql, args)
}

// QueryRow runs a query expected to return at most one row.
func (tx *Tx) QueryRow(ctx context.Context, sql string, args ...any) *Row {
	rows, err := tx.Query(ctx, sql, args...)
	return &Row{rows: rows, err: err}
}

// ErrTxDone is returned when a committed or rolled back Tx is used.
var ErrTxDone = &classified{ErrTx, errTxDone{}}

type errTxDone struct{}

func (errTxDone) Error() string {
	return "softdb: transaction has already been committed or rolled back"
}

// Commit makes the transaction's writes durable and visible.
func (tx *Tx) Commit() error {
	if tx.done {
		return ErrTxDone
	}
	tx.done = true
	tx.conn.db.mu.RLock()
	defer tx.conn.db.mu.RUnlock()
	return wrapErr(tx.conn.sess.Commit())
}

// Rollback discards the transaction. It is safe to call after Commit (it
// then does nothing), so `defer tx.Rollback()` is the idiom.
func (tx *Tx) Rollback() error {
	if tx.done {
		return nil
	}
	tx.done = true
	return wrapErr(tx.conn.sess.Rollback())
}

// Update runs fn in a write transaction and commits it if fn returns nil,
// rolling back otherwise (bbolt's closure style).
func (db *DB) Update(ctx context.Context, fn func(tx *Tx) error) error {
	tx, err := db.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// View runs fn with a read-only view: a consistent snapshot of the
// committed state that writers do not block.
func (db *DB) View(ctx context.Context, fn func(v *View) error) error {
	db.mu.RLock()
	if err := db.check(); err != nil {
		db.mu.RUnlock()
		return err
	}
	c := db.newConn()
	c.allowTx = false
	c.sess.PinSnapshot()
	db.mu.RUnlock()
	defer c.Close()
	return fn(&View{conn: c})
}

// View is a read-only session given to DB.View's closure.
type View struct{ conn *Conn }

// Query runs a query.
func (v *View) Query(ctx context.Context, sql string, args ...any) (*Rows, error) {
	return v.conn.query(ctx, sql, args)
}

// QueryRow runs a query expected to return at most one row.
func (v *View) QueryRow(ctx context.Context, sql string, args ...any) *Row {
	rows, err := v.Query(ctx, sql, args...)
	return &Row{rows: rows, err: err}
}
