package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/softdb/softdb"
	"github.com/softdb/softdb/query"
	"github.com/softdb/softdb/types"
)

// pgError is an error as the protocol reports it: a SQLSTATE code
// (https://www.postgresql.org/docs/15/errcodes-appendix.html), a message,
// and the 1-based character position in the query text, when known.
type pgError struct {
	code     string
	severity string // "" means ERROR
	msg      string
	hint     string
	position int32
}

func (e *pgError) Error() string { return e.msg }

func (e *pgError) response() *pgproto3.ErrorResponse {
	sev := e.severity
	if sev == "" {
		sev = "ERROR"
	}
	return &pgproto3.ErrorResponse{Severity: sev, SeverityUnlocalized: sev, Code: e.code, Message: e.msg, Hint: e.hint, Position: e.position}
}

// linePrefix is the "line:col: " that softdb's messages start with when
// they have a position; the protocol carries the position on its own.
var linePrefix = regexp.MustCompile(`^\d+:\d+: `)

// asPgError maps an error of a statement to its SQLSTATE.
func asPgError(err error) *pgError {
	var pe *pgError
	if errors.As(err, &pe) {
		return pe
	}
	msg := err.Error()
	out := &pgError{code: sqlState(err, msg), msg: msg}
	switch {
	case errors.Is(err, context.Canceled):
		out.msg = "canceling statement due to user request"
	case errors.Is(err, context.DeadlineExceeded):
		out.msg = statementTimeoutMsg // the only deadline a statement has
	}
	return out
}

// withPosition sets the error's position from softdb's byte offset into
// text (the whole query string the client sent).
func withPosition(err error, text string) error {
	off, ok := softdb.ErrorOffset(err)
	pe := asPgError(err)
	if ok && off >= 0 && off <= len(text) {
		pe.position = int32(utf8.RuneCountInString(text[:off]) + 1)
		pe.msg = linePrefix.ReplaceAllString(pe.msg, "")
	}
	return pe
}

// sqlState picks the SQLSTATE of a softdb error from its class (and, for
// classes PostgreSQL splits finer, from its message).
func sqlState(err error, msg string) string {
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "57014" // query_canceled
	case strings.Contains(msg, "invalid UTF-8"):
		return "22021" // character_not_in_repertoire (COPY data, …)
	case errors.Is(err, softdb.ErrSyntax), errors.As(err, new(*query.Error)):
		return "42601" // syntax_error
	case errors.Is(err, softdb.ErrNotFound):
		switch {
		case strings.Contains(msg, "column"):
			return "42703" // undefined_column
		case strings.Contains(msg, "table"):
			return "42P01" // undefined_table
		case strings.Contains(msg, "function"):
			return "42883" // undefined_function
		case strings.Contains(msg, "setting"):
			return "42704" // undefined_object
		}
		return "42704"
	case errors.Is(err, softdb.ErrExists):
		return "42P07" // duplicate_table
	case errors.Is(err, softdb.ErrConstraint):
		switch {
		case strings.Contains(msg, "NOT NULL"):
			return "23502" // not_null_violation
		case strings.Contains(msg, "duplicate"):
			return "23505" // unique_violation
		}
		return "23000"
	case errors.Is(err, softdb.ErrDimension):
		return "22000" // data_exception
	case errors.Is(err, softdb.ErrType):
		return "42804" // datatype_mismatch
	case errors.Is(err, softdb.ErrValue):
		switch {
		case strings.Contains(msg, "division by zero"):
			return "22012"
		case strings.Contains(msg, "not supported"):
			return "0A000"
		}
		return "22023" // invalid_parameter_value
	case errors.Is(err, softdb.ErrLimit):
		return "53400" // configuration_limit_exceeded
	case errors.Is(err, softdb.ErrLockTimeout):
		return "55P03" // lock_not_available
	case errors.Is(err, softdb.ErrTx):
		return "25000" // invalid_transaction_state
	case errors.Is(err, softdb.ErrReadOnly):
		return "25006" // read_only_sql_transaction
	case errors.Is(err, softdb.ErrNoSpace):
		return "53100" // disk_full
	case errors.Is(err, softdb.ErrCorrupt):
		return "XX001" // data_corrupted
	case errors.Is(err, softdb.ErrClosed):
		return "57P01" // admin_shutdown
	case errors.Is(err, softdb.ErrFailed):
		return "58030" // io_error
	}
	return "XX000" // internal_error
}

// checkUTF8 refuses text that is not UTF-8, or holds a NUL byte, as
// PostgreSQL does when a message arrives: what is the text ("" for a
// query string, else e.g. "parameter $1: "). A query string's error
// carries the position.
func checkUTF8(what string, b []byte) *pgError {
	if utf8.Valid(b) && bytes.IndexByte(b, 0) < 0 {
		return nil
	}
	off := types.InvalidUTF8(string(b)) // the error path only: the copy is rare
	if nul := bytes.IndexByte(b, 0); off < 0 || nul >= 0 && nul < off {
		off = nul
	}
	e := &pgError{code: "22021", msg: fmt.Sprintf("%sinvalid byte sequence for encoding \"UTF8\": 0x%02x", what, b[off])}
	if what == "" {
		e.position = int32(utf8.RuneCount(b[:off]) + 1)
	}
	return e
}
