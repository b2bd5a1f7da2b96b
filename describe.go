package softdb

import (
	"context"
	"errors"
	"time"

	"github.com/softdb/softdb/exec"
	"github.com/softdb/softdb/query"
	"github.com/softdb/softdb/types"
)

// Description is what a statement expects and returns, known before it
// runs (see Conn.Describe).
type Description struct {
	// Params has one entry per placeholder $1…$n: the type the statement
	// uses it as (the column it is stored into or compared with, VECTOR
	// for a MATCH query …), Kind "" where the statement does not tell.
	Params []ColumnType
	// Columns describes the result of a statement that returns rows
	// (HasRows).
	Columns []ColumnType
	HasRows bool
}

// Describe binds and plans one parsed statement without running it, as
// of the connection's current state (its open transaction, if any). It
// fails where running it would fail for a missing table or column.
func (c *Conn) Describe(ctx context.Context, stmt query.Statement) (*Description, error) {
	s := c.s
	unlock, err := s.enterLocked()
	if err != nil {
		return nil, err
	}
	defer unlock()
	d, err := s.sess.Describe(stmt, numParams([]query.Statement{stmt}))
	if err != nil {
		return nil, wrapErr(err)
	}
	out := &Description{Params: columnTypes(nil, d.Params), Columns: columnTypes(d.Columns, d.Types), HasRows: d.HasRows}
	return out, nil
}

// columnTypes pairs names (may be nil) with types.
func columnTypes(names []string, typ []types.Type) []ColumnType {
	n := max(len(names), len(typ))
	out := make([]ColumnType, n)
	for i := range out {
		if i < len(names) {
			out[i].Name = names[i]
		}
		if i < len(typ) && typ[i].Kind != types.Null {
			out[i].Kind = typ[i].Kind.String()
			out[i].Dim = typ[i].Dim
		}
	}
	return out
}

// SetLockTimeout bounds how long the connection's writes, and BEGIN, wait
// for another connection's write transaction to end: past it they fail
// with an error matching ErrLockTimeout. 0 (the default) waits as long as
// the statement's context allows.
func (c *Conn) SetLockTimeout(d time.Duration) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	c.s.sess.SetLockTimeout(d)
}

// ErrorOffset returns the 0-based byte offset, in the text that was
// parsed, of the place a statement's error points at, when it has one.
func ErrorOffset(err error) (int, bool) {
	var qe *query.Error
	if errors.As(err, &qe) && qe.Pos.Line > 0 {
		return int(qe.Pos.Offset), true
	}
	var ee *exec.Error
	if errors.As(err, &ee) && ee.Pos.Line > 0 {
		return int(ee.Pos.Offset), true
	}
	return 0, false
}
