package softdb

import (
	"errors"
	"fmt"

	"github.com/softdb/softdb/exec"
	"github.com/softdb/softdb/query"
	"github.com/softdb/softdb/storage"
)

// Error classes. Every error softdb returns for a statement matches at most
// one of them with errors.Is, while its message stays the specific one
// ("table \"t\" does not exist"). Syntax errors are also a *SyntaxError
// (errors.As) that carries the position. Context errors are returned as
// they are: errors.Is(err, context.Canceled) holds after a cancellation.
var (
	// Errors of Open and of using a closed handle.
	ErrLocked = errors.New("softdb: database is locked") // the directory is open in another process, or in another DB of this one
	ErrClosed = errors.New("softdb: database is closed")

	// Errors of the files and the disk, from Open or from a statement.
	ErrCorrupt  = errors.New("softdb: database file is corrupt")   // a damaged file: the message names it; see Options.Recover
	ErrReadOnly = errors.New("softdb: database is read-only")      // a write with Options.ReadOnly, or Open of a directory the process may not write
	ErrNoSpace  = errors.New("softdb: no space left on device")    // the disk is full; the error also matches syscall.ENOSPC
	ErrFailed   = errors.New("softdb: database failed; reopen it") // a write error left the storage engine unusable

	// Errors of parsing a statement.
	ErrSyntax = errors.New("softdb: syntax error")

	// Errors of binding and running a statement.
	ErrNotFound   = errors.New("softdb: not found")          // unknown table, column or function
	ErrExists     = errors.New("softdb: already exists")     // CREATE TABLE of an existing name
	ErrConstraint = errors.New("softdb: constraint failed")  // PRIMARY KEY or NOT NULL
	ErrDimension  = errors.New("softdb: dimension mismatch") // vector dimensions disagree
	ErrType       = errors.New("softdb: type mismatch")      // a value of the wrong type, an unsupported Go type
	ErrValue      = errors.New("softdb: invalid value")      // NaN in a vector, bad temperature, wrong argument count …
	ErrLimit      = errors.New("softdb: limit exceeded")     // a statement or transaction too large

	// Errors of transactions.
	ErrTx     = errors.New("softdb: transaction error") // COMMIT without BEGIN, a write in a read-only Tx …
	ErrTxDone = &classified{ErrTx, errors.New("softdb: transaction has already been committed or rolled back")}
	// ErrLockTimeout: a write waited longer than Conn.SetLockTimeout for
	// another connection's write transaction.
	ErrLockTimeout = errors.New("softdb: lock timeout")

	// ErrNoRows is returned by Row.Scan when the query returned no row.
	ErrNoRows = errors.New("softdb: no rows in result set")
)

// SyntaxError is a statement that does not parse. Line and Col are 1-based
// and count from the start of the text given to Exec, Query or Prepare.
type SyntaxError struct {
	Line, Col int
	Msg       string // without the position
	err       error
}

func (e *SyntaxError) Error() string        { return e.err.Error() }
func (e *SyntaxError) Is(target error) bool { return target == ErrSyntax }
func (e *SyntaxError) Unwrap() error        { return e.err }

// classified keeps the original error (and its message) while adding the
// public class for errors.Is.
type classified struct {
	class error
	err   error
}

func (e *classified) Error() string   { return e.err.Error() }
func (e *classified) Unwrap() []error { return []error{e.class, e.err} }

func errorf(class error, format string, args ...any) error {
	return &classified{class, fmt.Errorf(format, args...)}
}

// wrapErr maps an error of a lower layer to its public class.
func wrapErr(err error) error {
	if err == nil {
		return nil
	}
	var qe *query.Error
	if errors.As(err, &qe) {
		return &SyntaxError{Line: int(qe.Pos.Line), Col: int(qe.Pos.Col), Msg: qe.Msg, err: err}
	}
	var ce *storage.ConstraintError
	var de *storage.DimensionError
	var te *storage.TableError
	var ve *storage.ValueError
	var se *storage.SchemaError
	switch {
	case errors.As(err, &ce):
		return &classified{ErrConstraint, err}
	case errors.As(err, &de):
		return &classified{ErrDimension, err}
	case errors.As(err, &te):
		if errors.Is(err, storage.ErrTableExists) {
			return &classified{ErrExists, err}
		}
		return &classified{ErrNotFound, err}
	case errors.As(err, &ve), errors.As(err, &se):
		return &classified{ErrValue, err}
	case errors.Is(err, storage.ErrLocked):
		return &classified{ErrLocked, err}
	case errors.Is(err, storage.ErrCorrupt):
		return &classified{ErrCorrupt, err}
	case errors.Is(err, storage.ErrReadOnly):
		return &classified{ErrReadOnly, err}
	case errors.Is(err, storage.ErrNoSpace):
		return &classified{ErrNoSpace, err}
	case errors.Is(err, storage.ErrFailed):
		return &classified{ErrFailed, err}
	case errors.Is(err, storage.ErrClosed):
		return &classified{ErrClosed, err}
	case errors.Is(err, storage.ErrTxTooLarge):
		return &classified{ErrLimit, err}
	}
	var ee *exec.Error
	if errors.As(err, &ee) {
		for _, m := range []struct{ from, to error }{
			{exec.ErrNotFound, ErrNotFound}, {exec.ErrType, ErrType}, {exec.ErrDimension, ErrDimension},
			{exec.ErrValue, ErrValue}, {exec.ErrTx, ErrTx}, {exec.ErrLimit, ErrLimit},
			{exec.ErrConstraint, ErrConstraint}, {exec.ErrUnsupported, ErrValue}, {exec.ErrLockTimeout, ErrLockTimeout},
		} {
			if errors.Is(err, m.from) {
				return &classified{m.to, err}
			}
		}
	}
	return err
}
