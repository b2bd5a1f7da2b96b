package softdb

import (
	"errors"

	"github.com/softdb/softdb/exec"
	"github.com/softdb/softdb/query"
	"github.com/softdb/softdb/storage"
)

// Error classes. Every error softdb returns for a statement matches one of
// them with errors.Is; syntax errors are also a *SyntaxError (errors.As)
// with the position.
var (
	ErrSyntax     = errors.New("syntax error")
	ErrNotFound   = errors.New("not found")          // unknown table, column or function
	ErrExists     = errors.New("already exists")     // CREATE TABLE of an existing name
	ErrConstraint = errors.New("constraint failed")  // PRIMARY KEY or NOT NULL
	ErrDimension  = errors.New("dimension mismatch") // vector dimensions disagree
	ErrType       = errors.New("type mismatch")
	ErrValue      = errors.New("invalid value") // NaN in a vector, bad temperature, division by zero …
	ErrTx         = errors.New("transaction error")
	ErrLocked     = storage.ErrLocked // the directory is open in another process (or DB)
	ErrClosed     = errors.New("database is closed")
	ErrLimit      = errors.New("limit exceeded")
)

// SyntaxError is a statement that does not parse. Line and Col are 1-based.
type SyntaxError struct {
	Line, Col int
	Msg       string // without the position
	err       error
}

func (e *SyntaxError) Error() string        { return e.err.Error() }
func (e *SyntaxError) Is(target error) bool { return target == ErrSyntax }

// classified keeps the original error (and its message) while adding the
// public class for errors.Is.
type classified struct {
	class error
	err   error
}

func (e *classified) Error() string   { return e.err.Error() }
func (e *classified) Unwrap() []error { return []error{e.class, e.err} }

// wrapErr maps an error of a lower layer to its public class.
func wrapErr(err error) error {
	if err == nil {
		return nil
	}
	var qe *query.Error
	if errors.As(err, &qe) {
		return &SyntaxError{Line: qe.Pos.Line, Col: qe.Pos.Col, Msg: qe.Msg, err: err}
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
	case errors.Is(err, storage.ErrClosed):
		return &classified{ErrClosed, err}
	}
	var ee *exec.Error
	if errors.As(err, &ee) {
		for _, m := range []struct{ from, to error }{
			{exec.ErrNotFound, ErrNotFound}, {exec.ErrType, ErrType}, {exec.ErrDimension, ErrDimension},
			{exec.ErrValue, ErrValue}, {exec.ErrTx, ErrTx}, {exec.ErrLimit, ErrLimit},
			{exec.ErrConstraint, ErrConstraint}, {exec.ErrUnsupported, ErrValue},
		} {
			if errors.Is(err, m.from) {
				return &classified{m.to, err}
			}
		}
	}
	return err
}
