package server

import (
	"context"

	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/softdb/softdb/query"
)

// Transactions as PostgreSQL clients expect them. softdb's transactions
// are write transactions, one at a time, and BEGIN takes the write lock.
// Drivers such as psycopg2 send BEGIN before every first statement, reads
// too, so the server defers softdb's BEGIN to the transaction's first
// write: until then the session reads the latest commit at each
// statement (read committed, PostgreSQL's default) and takes no lock, so
// readers never wait for one another.
//
// Outside BEGIN, the statements of one Query message, and the
// extended-protocol messages up to Sync, form one implicit transaction as
// in PostgreSQL: opened at their first write, committed at the end of the
// string (or at Sync), rolled back when one of them fails.

// txControl runs BEGIN, COMMIT or ROLLBACK; tag, when not "", replaces
// the statement's command tag.
func (c *conn) txControl(ctx context.Context, st query.Statement) (tag string, err error) {
	inTx := c.db.InTx()
	if c.failedTx {
		if _, ok := st.(*query.Begin); ok {
			return "", errAborted
		}
		// COMMIT of an aborted transaction rolls back, as in PostgreSQL.
		c.failedTx = false
		st, tag = &query.Rollback{}, "ROLLBACK"
	}
	switch st.(type) {
	case *query.Begin:
		if c.implicitTx {
			// BEGIN inside an implicit transaction makes it explicit:
			// the writes before it are kept until COMMIT.
			c.implicitTx = false
			return "", nil
		}
		if inTx || c.pendingBegin {
			c.warning("25001", "there is already a transaction in progress")
			return "", nil
		}
		c.pendingBegin = true
		return "", nil
	case *query.Commit, *query.Rollback:
		if c.pendingBegin {
			c.pendingBegin = false
			return tag, nil
		}
		if !inTx {
			c.warning("25P01", "there is no transaction in progress")
			return tag, nil
		}
		if c.implicitTx {
			// PostgreSQL ends the implicit transaction as asked, with the
			// warning that there was no BEGIN.
			c.implicitTx = false
			c.warning("25P01", "there is no transaction in progress")
		}
	}
	_, err = c.db.Run(ctx, st)
	return tag, err
}

// failStatement follows a failed statement: an implicit transaction is
// rolled back, and an explicit one is aborted as in PostgreSQL (status E;
// only ROLLBACK, or COMMIT, which rolls back, ends it), so that a client
// that commits after an error never keeps part of what it sent.
func (c *conn) failStatement() {
	if err := c.endImplicit(true); err != nil {
		c.srv.cfg.Logf("connection %d: rolling back the implicit transaction: %v", c.pid, err)
	}
	if c.inBlock() {
		c.failedTx = true
	}
}

// errAborted answers every statement but ROLLBACK and COMMIT in an
// aborted transaction.
var errAborted = &pgError{code: "25P02", msg: "current transaction is aborted, commands ignored until end of transaction block"}

// inBlock reports whether an explicit transaction is open (BEGIN sent).
func (c *conn) inBlock() bool {
	return c.pendingBegin || c.db.InTx() && !c.implicitTx
}

// refuseInBlock refuses a statement softdb cannot run inside a
// transaction: inside one its error aborts the transaction as any failed
// statement's does (the client meant what followed to depend on it),
// outside it is refused as PostgreSQL refuses it there.
func (c *conn) refuseInBlock(what string) error {
	if !c.inBlock() {
		return &pgError{code: "25P01", msg: what + " can only be used in transaction blocks"}
	}
	return &pgError{code: "0A000", msg: what + " is not supported: softdb transactions have no savepoints; the transaction is aborted, end it with ROLLBACK",
		hint: "Run the statements that may fail in a transaction of their own."}
}

// beginIfWrite opens the deferred transaction, or the implicit one,
// before a statement that writes.
func (c *conn) beginIfWrite(ctx context.Context, st query.Statement) error {
	implicit := c.implicit && !c.pendingBegin && !c.db.InTx()
	if !c.pendingBegin && !implicit || !writes(st) {
		return nil
	}
	if _, err := c.db.Run(ctx, &query.Begin{}); err != nil {
		return err
	}
	c.pendingBegin = false
	c.implicitTx = implicit
	return nil
}

// writes reports whether st may change the database: every statement but
// the reads, so that a new kind of statement is transactional by default.
func writes(st query.Statement) bool {
	switch n := st.(type) {
	case *query.Select, *query.Explain, *query.ShowTables, *query.ShowSetting, *query.Describe,
		*query.ShowIndexes, *query.ShowProjections, *query.CopyProjection, *query.Set:
		return false
	case *query.Copy:
		return !n.To
	}
	return true
}

// endImplicit ends the implicit transaction at the end of a Query string
// or at Sync: committed, or rolled back when failed is set.
func (c *conn) endImplicit(failed bool) error {
	c.implicit = false
	if !c.implicitTx {
		return nil
	}
	c.implicitTx = false
	var st query.Statement = &query.Commit{}
	if failed {
		st = &query.Rollback{}
	}
	// Not the statement's timeout: ending the transaction is not a
	// statement the client sent.
	ctx, done := c.context(0)
	defer done()
	_, err := c.db.Run(ctx, st)
	return err
}

// warning sends a WARNING notice.
func (c *conn) warning(code, msg string) {
	c.be.Send(&pgproto3.NoticeResponse{Severity: "WARNING", SeverityUnlocalized: "WARNING", Code: code, Message: msg})
}
