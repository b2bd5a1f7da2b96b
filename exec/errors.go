package exec

import (
	"errors"
	"fmt"

	"github.com/softdb/softdb/query"
)

// Error classes returned by the executor; test with errors.Is.
var (
	ErrNotFound    = errors.New("not found")          // unknown table or column
	ErrType        = errors.New("type mismatch")      // a value of the wrong type
	ErrDimension   = errors.New("dimension mismatch") // vector dimensions disagree
	ErrValue       = errors.New("invalid value")      // NaN vector, bad temperature, division by zero …
	ErrTx          = errors.New("transaction error")  // COMMIT without BEGIN …
	ErrUnsupported = errors.New("not supported")
	ErrLimit       = errors.New("limit exceeded")    // a configured resource limit
	ErrConstraint  = errors.New("constraint failed") // NOT NULL …
)

// Error is an executor error: a class (one of the Err… values), a message,
// and the position in the statement when one is known.
type Error struct {
	Class error
	Pos   query.Pos // zero when unknown
	Msg   string
}

func (e *Error) Error() string {
	if e.Pos.Line > 0 {
		return fmt.Sprintf("%s: %s", e.Pos, e.Msg)
	}
	return e.Msg
}

func (e *Error) Unwrap() error { return e.Class }

func errorf(class error, pos query.Pos, format string, args ...any) error {
	return &Error{Class: class, Pos: pos, Msg: fmt.Sprintf(format, args...)}
}
