// Package softdb is a database that takes attention literally, embedded in
// a Go program. A table stores records; its VECTOR column "key" is what a
// record advertises and the other columns are what it contributes.
// HARD SELECT … MATCH q returns the best-matching rows, like a classic
// lookup; SOFT SELECT returns the softmax-weighted blend of the values,
// Σᵢ softmax(q·kᵢ/T)·vᵢ. The SQL is described in docs/sql.md.
//
// # Basics
//
// Open a database directory (created if missing), or Memory for one that
// lives only in memory, and Close it when done:
//
//	db, err := softdb.Open("data/memories", nil)
//	if err != nil { … }
//	defer db.Close()
//
// DB.Exec runs statements; DB.Query and DB.QueryRow return rows. Every call
// takes a context.Context, and arguments fill ? or $n placeholders: Go
// integers, floats, strings and []byte, nil for NULL, and []float32 (or
// []float64) for VECTOR values.
//
//	_, err = db.Exec(ctx, "INSERT INTO memory VALUES (?, ?, ?)", key, value, "east")
//	var blend []float32
//	err = db.QueryRow(ctx, "SOFT SELECT value FROM memory MATCH ?", q).Scan(&blend)
//
// Rows.Scan converts each column to the destination's type, and a VECTOR
// scans into *[]float32. DB.Prepare parses a statement once for many runs.
//
// Each call of DB.Exec, DB.Query and Stmt runs in its own transaction, and
// a statement that returns success is durable. To group statements, use
// DB.Update (bbolt style: commit when the closure returns nil), or
// DB.Begin with Tx.Commit and Tx.Rollback. DB.View, or Begin with
// TxOptions.ReadOnly, reads one consistent snapshot across several
// queries.
//
// Errors match one of the Err… classes with errors.Is (ErrNotFound,
// ErrConstraint, ErrDimension, ErrLocked, …), and syntax errors are a
// *SyntaxError with a line and column. A cancelled context stops a running
// scan promptly: the call returns an error matching context.Canceled.
//
// The package driver registers softdb with database/sql under the name
// "softdb".
//
// # Caveats
//
// Concurrency. A DB is safe for concurrent use by many goroutines. Readers
// work on a snapshot of the committed state and never wait, and never see
// half of a transaction. Writers go one at a time: a statement that writes
// waits (as long as its context allows) for the open write transaction of
// another goroutine. Do not write through the DB, or Begin another write
// transaction, from a goroutine that holds a write Tx: it would wait for
// itself until its context ends. Tx, Conn and Rows are for one goroutine
// at a time; DB and Stmt are for many.
//
// Vector lifetimes. Vectors passed as arguments are copied before the call
// returns, so the caller may reuse them. Rows.Scan into *[]float32 gives a
// new slice every time, owned by the caller. Rows.Values, and the Rows of
// Conn.Run, return vectors shared with the database and with other
// readers: read them, but never modify them.
//
// Memory. Every table is held in memory, in columns, as well as on disk;
// a query's whole result is computed before Query returns, so select what
// you need (HARD SELECT … LIMIT k, SOFT SELECT … TOP k, blends).
//
// One process per directory. A directory is locked by the DB that opens
// it: a second Open of it, from another process or from this one, fails
// with ErrLocked until that DB is closed. Within a process, share one *DB
// (the driver package does this for every sql.DB of a directory).
//
// Close. DB.Close waits for calls in flight, rolls back write transactions
// left open, and releases the directory; Rows already returned stay
// readable.
package softdb
