package exec

import (
	"context"
	"errors"
	"time"

	"github.com/softdb/softdb/query"
	"github.com/softdb/softdb/storage"
)

// ErrLockTimeout is the class of a write that waited longer than the
// session's lock timeout for another session's write transaction to end.
var ErrLockTimeout = errors.New("lock timeout")

// SetLockTimeout bounds how long the session's writes (and BEGIN) wait
// for the write lock that another session holds; 0 waits as long as the
// statement's context allows.
func (s *Session) SetLockTimeout(d time.Duration) { s.lockTimeout = d }

// beginTx starts a storage transaction, waiting for the write lock no
// longer than the lock timeout.
func (s *Session) beginTx(ctx context.Context) (*storage.Tx, error) {
	if s.lockTimeout <= 0 {
		return s.eng.db.Begin(ctx)
	}
	wctx, cancel := context.WithTimeoutCause(ctx, s.lockTimeout, ErrLockTimeout)
	defer cancel()
	tx, err := s.eng.db.Begin(wctx)
	if err != nil && ctx.Err() == nil && errors.Is(context.Cause(wctx), ErrLockTimeout) {
		return nil, errorf(ErrLockTimeout, query.Pos{}, "could not obtain the write lock within %v: another session has a write transaction open (readers never wait; retry, or end the other transaction)", s.lockTimeout)
	}
	return tx, err
}
