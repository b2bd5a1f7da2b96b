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

// txControl runs BEGIN, COMMIT or ROLLBACK.
func (c *conn) txControl(ctx context.Context, st query.Statement) error {
	inTx := c.db.InTx()
	switch st.(type) {
	case *query.Begin:
		if inTx || c.pendingBegin {
			c.warning("25001", "there is already a transaction in progress")
			return nil
		}
		c.pendingBegin = true
		return nil
	case *query.Commit, *query.Rollback:
		if c.pendingBegin {
			c.pendingBegin = false
			return nil
		}
		if !inTx {
			c.warning("25P01", "there is no transaction in progress")
			return nil
		}
	}
	_, err := c.db.Run(ctx, st)
	return err
}

// beginIfWrite opens the deferred transaction before a statement that
// writes.
func (c *conn) beginIfWrite(ctx context.Context, st query.Statement) error {
	if !c.pendingBegin {
		return nil
	}
	switch st.(type) {
	case *query.Insert, *query.Update, *query.Delete, *query.Copy, *query.CreateTable, *query.DropTable:
	default:
		return nil
	}
	if _, err := c.db.Run(ctx, &query.Begin{}); err != nil {
		return err
	}
	c.pendingBegin = false
	return nil
}

// warning sends a WARNING notice.
func (c *conn) warning(code, msg string) {
	c.be.Send(&pgproto3.NoticeResponse{Severity: "WARNING", SeverityUnlocalized: "WARNING", Code: code, Message: msg})
}
