package formats

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
)

// Sentinel errors, reachable with errors.Is through an *Error.
var (
	ErrUnknownFormat = errors.New("formats: unknown format")
	ErrTruncated     = errors.New("formats: truncated file")
)

// Pos is where a row (or an error) is in a file.
type Pos struct {
	Path   string
	Line   int64 // 1-based line of a text format (csv, jsonl); 0 otherwise
	Record int64 // 1-based record of a binary format (npy, *vecs, parquet); 0 otherwise
}

// String renders "digits.csv:17" or "k.npy: record 17".
func (p Pos) String() string {
	switch {
	case p.Line > 0:
		return fmt.Sprintf("%s:%d", p.Path, p.Line)
	case p.Record > 0:
		return fmt.Sprintf("%s: record %d", p.Path, p.Record)
	}
	return p.Path
}

// Error is a rejected file, row or value:
//
//	digits.csv:17: column "label": "abc" is not an integer
//	k.npy: record 1001: truncated: expected 2000 rows, file has 1000
//
// Err, when set, is the underlying cause (an *fs.PathError, ErrTruncated, …).
type Error struct {
	Pos
	Column string // the column (target or file column) at fault, if any
	Msg    string
	Err    error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Pos.String())
	if e.Column != "" {
		if b.Len() > 0 {
			b.WriteString(": ")
		}
		fmt.Fprintf(&b, "column %q", e.Column)
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// ioError wraps an operating-system error about path: "x.csv: cannot open:
// permission denied". errors.Is(err, fs.ErrNotExist) and friends still work.
func ioError(path, op string, err error) error {
	msg := err.Error()
	var pe *fs.PathError
	if errors.As(err, &pe) {
		msg = pe.Err.Error()
	}
	return &Error{Pos: Pos{Path: path}, Msg: op + ": " + msg, Err: err}
}

// quote clips and quotes a cell for an error message.
func quote(b []byte) string {
	if len(b) > 40 {
		return fmt.Sprintf("%q…", b[:37])
	}
	return fmt.Sprintf("%q", b)
}
