package softdb

import (
	"context"
	"errors"
)

// TxOptions configures Begin. nil means the defaults: a write transaction.
type TxOptions struct {
	// ReadOnly starts a read-only transaction: every statement reads the
	// snapshot of the committed state taken at Begin, and writes are
	// refused (ErrTx). Read-only transactions never wait and never make
	// others wait; any number may be open at once.
	ReadOnly bool
}

// Tx is an explicit transaction. A write transaction sees its own writes;
// no one else sees any of them until Commit, which makes them durable and
// visible at once (or returns an error and discards them). Only one write
// transaction is open at a time, which makes transactions serializable.
//
// A Tx is not safe for concurrent use; end it with Commit or Rollback.
// While a write Tx is open, statements that write through the DB (DB.Exec,
// Stmt.Exec) or another Tx wait for it, so never write through them from
// the goroutine holding the Tx: that waits for itself until its ctx ends.
type Tx struct {
	s        *session
	readOnly bool
	managed  bool // owned by Update or View, which end it themselves
}

// Begin starts a transaction. A write transaction (opts nil or not
// ReadOnly) first waits for the previous one to end, for as long as ctx
// allows; ctx does not bound the transaction's life after that.
func (db *DB) Begin(ctx context.Context, opts *TxOptions) (*Tx, error) {
	if err := db.enter(); err != nil {
		return nil, err
	}
	defer db.leave()
	if ctx == nil {
		ctx = context.Background()
	}
	s := db.newSession()
	if opts != nil && opts.ReadOnly {
		s.sess.PinSnapshot()
		return &Tx{s: s, readOnly: true}, nil
	}
	if err := s.sess.Begin(ctx); err != nil {
		return nil, wrapErr(err)
	}
	if !db.register(s) {
		s.sess.Close()
		return nil, ErrClosed
	}
	return &Tx{s: s}, nil
}

// ReadOnly reports whether the transaction is read-only.
func (tx *Tx) ReadOnly() bool { return tx.readOnly }

// Exec runs one or more statements inside the transaction (see DB.Exec).
// A failing statement changes nothing, and the transaction stays open.
func (tx *Tx) Exec(ctx context.Context, sql string, args ...any) (Result, error) {
	return tx.s.execText(ctx, sql, args, false)
}

// Query runs a query inside the transaction.
func (tx *Tx) Query(ctx context.Context, sql string, args ...any) (*Rows, error) {
	return tx.s.query(ctx, sql, args, false)
}

// QueryRow runs a query expected to return at most one row. Errors are
// deferred to Row.Scan.
func (tx *Tx) QueryRow(ctx context.Context, sql string, args ...any) *Row {
	rows, err := tx.Query(ctx, sql, args...)
	return &Row{rows: rows, err: err}
}

// Stmt returns a transaction-specific version of the prepared statement
// st, which runs inside tx. It shares st's parsed form and stops working
// when tx ends or st is closed.
func (tx *Tx) Stmt(st *Stmt) *Stmt {
	if st.tx != nil {
		st = st.parent
	}
	return &Stmt{db: st.db, text: st.text, st: st.st, nparams: st.nparams, tx: tx, parent: st}
}

var errManaged = errors.New("softdb: Commit and Rollback of a transaction given to Update or View are not allowed: return from the closure instead")

// Commit makes the transaction's writes durable and visible. For a
// read-only transaction it just ends it. Commit of a transaction that has
// already ended returns ErrTxDone (ErrClosed when DB.Close ended it).
func (tx *Tx) Commit() error {
	if tx.managed {
		return errManaged
	}
	return tx.finish(true)
}

// Rollback discards the transaction. After Commit it returns ErrTxDone
// and does nothing, so `defer tx.Rollback()` right after Begin is the
// idiom.
func (tx *Tx) Rollback() error {
	if tx.managed {
		return errManaged
	}
	return tx.finish(false)
}

func (tx *Tx) finish(commit bool) error {
	s := tx.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	s.err = ErrTxDone
	var err error
	switch {
	case tx.readOnly:
	case commit:
		err = wrapErr(s.sess.Commit())
	default:
		err = wrapErr(s.sess.Rollback())
	}
	if !tx.readOnly {
		s.db.unregister(s)
	}
	return err
}

// Update runs fn in a write transaction, bbolt style: it commits if fn
// returns nil and rolls back if fn returns an error or panics. It returns
// fn's error, or Commit's. ctx bounds the wait for the transaction, as in
// Begin; fn must not call tx.Commit or tx.Rollback, nor keep tx after it
// returns.
func (db *DB) Update(ctx context.Context, fn func(tx *Tx) error) error {
	tx, err := db.Begin(ctx, nil)
	if err != nil {
		return err
	}
	tx.managed = true
	defer tx.finish(false) // after a commit, only reports ErrTxDone
	if err := fn(tx); err != nil {
		return err
	}
	return tx.finish(true)
}

// View runs fn in a read-only transaction: all of fn's queries see one
// consistent snapshot of the committed state, while writers go on. It
// returns fn's error. fn must not call tx.Commit or tx.Rollback, nor keep
// tx after it returns.
func (db *DB) View(ctx context.Context, fn func(tx *Tx) error) error {
	tx, err := db.Begin(ctx, &TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	tx.managed = true
	defer tx.finish(false)
	return fn(tx)
}
