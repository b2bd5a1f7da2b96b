package storage

import (
	"errors"
	"fmt"
)

// Sentinel errors. Test for them with errors.Is; the errors returned wrap
// them with the table or directory they concern.
var (
	// ErrLocked: another DB (in this or another process) has the directory open.
	ErrLocked = errors.New("database is locked by another process")
	// ErrClosed: the DB was closed.
	ErrClosed = errors.New("database is closed")
	// ErrNoTable: the named table does not exist.
	ErrNoTable = errors.New("does not exist")
	// ErrTableExists: CREATE TABLE of a name already in use.
	ErrTableExists = errors.New("already exists")
	// ErrNoRow: Update or Delete named a rowid that is not a live row.
	ErrNoRow = errors.New("no such row")
	// ErrTxDone: the transaction was already committed or rolled back.
	ErrTxDone = errors.New("transaction has already been committed or rolled back")
	// ErrTxTooLarge: a transaction's pending writes would exceed what one
	// pebble batch can hold.
	ErrTxTooLarge = errors.New("transaction too large")
	// ErrFailed: a write to disk failed in a way that leaves the write-ahead
	// log in an unknown state; the DB accepts no more writes and must be
	// reopened.
	ErrFailed = errors.New("database failed after a write error; reopen it")
	// ErrCorrupt: a file of the database is damaged. Every error about
	// damaged data matches it (a *CorruptionError says which file or key).
	ErrCorrupt = errors.New("database file is corrupt")
	// ErrReadOnly: a write to a database opened with Options.ReadOnly, or
	// Open of a directory the process may not write without ReadOnly.
	ErrReadOnly = errors.New("database is read-only")
	// ErrNoSpace: a write failed because the disk is full. The error also
	// matches syscall.ENOSPC. Nothing of the failed write is stored;
	// writes succeed again once space is freed.
	ErrNoSpace = errors.New("no space left on device")
)

// TableError reports an error about a whole table, e.g.
// `table "t" does not exist`. Err is ErrNoTable or ErrTableExists.
type TableError struct {
	Table string
	Err   error
}

func (e *TableError) Error() string { return fmt.Sprintf("table %q %v", e.Table, e.Err) }
func (e *TableError) Unwrap() error { return e.Err }

// Constraint kinds of a ConstraintError.
const (
	ConstraintPrimaryKey = "primary key"
	ConstraintNotNull    = "not null"
)

// ConstraintError reports a PRIMARY KEY or NOT NULL violation.
type ConstraintError struct {
	Table, Column string
	Kind          string // ConstraintPrimaryKey or ConstraintNotNull
	Value         string // the offending value as SQL prints it (PK only)
	Msg           string // the full message
}

func (e *ConstraintError) Error() string { return e.Msg }

func pkError(table, column, value string) *ConstraintError {
	return &ConstraintError{
		Table: table, Column: column, Kind: ConstraintPrimaryKey, Value: value,
		Msg: fmt.Sprintf("duplicate primary key %s in table %q (column %q)", value, table, column),
	}
}

func notNullError(table, column string) *ConstraintError {
	return &ConstraintError{
		Table: table, Column: column, Kind: ConstraintNotNull, Value: "NULL",
		Msg: fmt.Sprintf("NOT NULL constraint failed: %s.%s", table, column),
	}
}

// DimensionError reports a vector whose length differs from its column's.
type DimensionError struct {
	Table, Column string
	Want, Got     int
}

func (e *DimensionError) Error() string {
	return fmt.Sprintf("dimension mismatch for %s.%s: expected %d, got %d", e.Table, e.Column, e.Want, e.Got)
}

// ValueError reports a value storage refuses for a reason other than a
// constraint or a dimension: a kind that does not match the column, a
// non-finite vector element, a row of the wrong length.
type ValueError struct {
	Table, Column string // Column is "" for row-level errors
	Msg           string
}

func (e *ValueError) Error() string { return e.Msg }

// SchemaError reports an invalid CREATE TABLE schema.
type SchemaError struct {
	Table string
	Msg   string
}

func (e *SchemaError) Error() string { return e.Msg }

// CorruptionError reports on-disk data that cannot be decoded: a record
// or catalog entry (Key), or a whole file (File, and Offset when known).
// It matches ErrCorrupt.
type CorruptionError struct {
	Key    []byte
	File   string
	Offset int64 // in File; -1 when unknown
	Msg    string
	Err    error // the underlying error, if any
}

func (e *CorruptionError) Error() string {
	switch {
	case e.File != "" && e.Offset >= 0:
		return fmt.Sprintf("storage corruption in %s at offset %d: %s", e.File, e.Offset, e.Msg)
	case e.File != "":
		return fmt.Sprintf("storage corruption in %s: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("storage corruption at key %x: %s", e.Key, e.Msg)
}

func (e *CorruptionError) Is(target error) bool { return target == ErrCorrupt }
func (e *CorruptionError) Unwrap() error        { return e.Err }

func corruptFile(file string, off int64, msg string, err error) *CorruptionError {
	return &CorruptionError{File: file, Offset: off, Msg: msg, Err: err}
}
