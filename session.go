package softdb

import (
	"context"
	"fmt"
	"sync"

	"github.com/softdb/softdb/exec"
	"github.com/softdb/softdb/query"
	"github.com/softdb/softdb/types"
)

// session is an executor session behind a Conn, a Tx, or a single DB call.
// Its mutex is held while a statement runs, so that DB.Close can roll back
// an idle session's transaction without racing a statement.
type session struct {
	db   *DB
	mu   sync.Mutex
	sess *exec.Session
	err  error // non-nil once the session has ended: what later calls return
}

func (db *DB) newSession() *session {
	return &session{db: db, sess: db.engine.NewSession()}
}

// end rolls back the session's open transaction, if any, and makes later
// calls return err. Only the first end counts.
func (s *session) end(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.sess.Close()
		s.err = err
	}
}

// run executes one parsed statement. allowTx permits BEGIN, COMMIT and
// ROLLBACK.
func (s *session) run(ctx context.Context, st query.Statement, params []types.Value, allowTx bool) (*exec.Result, error) {
	unlock, err := s.enterLocked()
	if err != nil {
		return nil, err
	}
	defer unlock()
	if !allowTx {
		if err := checkNoTxControl(st); err != nil {
			return nil, err
		}
	}
	if ctx == nil {
		ctx = context.Background()
	}
	res, err := s.sess.Exec(ctx, st, params)
	return res, wrapErr(err)
}

// enterLocked registers a call in flight and locks the session; it fails
// once the DB is closing or the session has ended. unlock undoes both.
func (s *session) enterLocked() (unlock func(), err error) {
	if err := s.db.enter(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.err != nil {
		s.mu.Unlock()
		s.db.leave()
		return nil, s.err
	}
	return func() {
		s.mu.Unlock()
		s.db.leave()
	}, nil
}

// checkNoTxControl refuses BEGIN, COMMIT and ROLLBACK where transactions
// are managed by the API instead.
func checkNoTxControl(st query.Statement) error {
	switch st.(type) {
	case *query.Begin, *query.Commit, *query.Rollback:
		return errorf(ErrTx, "%s: transaction statements need a Conn; with DB and Stmt use Begin or Update, and end a Tx with its Commit or Rollback methods", st.Position())
	}
	return nil
}

func (s *session) execText(ctx context.Context, sql string, args []any, allowTx bool) (Result, error) {
	stmts, err := query.Parse(sql)
	if err != nil {
		return Result{}, wrapErr(err)
	}
	params, err := bindArgs(numParams(stmts), args)
	if err != nil {
		return Result{}, err
	}
	if len(stmts) == 0 {
		// Nothing to run, but a closed DB should still say so.
		if err := s.db.enter(); err != nil {
			return Result{}, err
		}
		s.db.leave()
	}
	var last Result
	for _, st := range stmts {
		res, err := s.run(ctx, st, params, allowTx)
		if err != nil {
			return Result{}, err
		}
		last = Result{RowsAffected: res.RowsAffected, LastInsertID: res.LastInsertID}
	}
	return last, nil
}

func (s *session) query(ctx context.Context, sql string, args []any, allowTx bool) (*Rows, error) {
	st, err := query.ParseOne(sql)
	if err != nil {
		return nil, wrapErr(err)
	}
	params, err := bindArgs(numParams([]query.Statement{st}), args)
	if err != nil {
		return nil, err
	}
	res, err := s.run(ctx, st, params, allowTx)
	if err != nil {
		return nil, err
	}
	return newRows(res), nil
}

// numParams is the highest placeholder number in the statements: how many
// arguments they take.
func numParams(stmts []query.Statement) int {
	n := 0
	for _, st := range stmts {
		query.Walk(st, func(node query.Node) bool {
			if p, ok := node.(*query.Param); ok && p.Index > n {
				n = p.Index
			}
			return true
		})
	}
	return n
}

// bindArgs converts the arguments of statements with n placeholders. The
// count must match exactly: an extra argument is as much a mistake as a
// missing one.
func bindArgs(n int, args []any) ([]types.Value, error) {
	if len(args) != n {
		return nil, errorf(ErrValue, "softdb: got %s for %s", plural(len(args), "argument"), plural(n, "placeholder"))
	}
	return toValues(args, false)
}

// bindArgsFor is bindArgs for the one statement st. The vectors of an
// INSERT's or UPDATE's arguments are not copied: the statement stores them
// in the transaction, which copies every vector it keeps (storage.Tx
// Insert and Update), returns no rows, and holds no reference once it
// returns, so a copy would only be garbage — 512 bytes a row at
// VECTOR(128), the memory the prepared INSERT benchmark touched most
// after the mirror and the write batch. Other statements may return their
// arguments in rows (SELECT ?), so theirs are copied.
func bindArgsFor(st query.Statement, n int, args []any) ([]types.Value, error) {
	switch st.(type) {
	case *query.Insert, *query.Update:
		if len(args) != n {
			return bindArgs(n, args)
		}
		return toValues(args, true)
	}
	return bindArgs(n, args)
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
