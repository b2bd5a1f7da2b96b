package driver

import (
	"context"
	"database/sql"
	sqldriver "database/sql/driver"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"

	"github.com/softdb/softdb"
)

// conn is one database/sql connection: the shared DB plus the connection's
// transaction. database/sql uses a connection from one goroutine at a time.
type conn struct {
	db      *softdb.DB
	tx      *softdb.Tx   // open transaction, or nil
	release func() error // Driver.Open's reference, or nil
	closed  bool
}

var (
	_ sqldriver.Conn               = (*conn)(nil)
	_ sqldriver.ConnBeginTx        = (*conn)(nil)
	_ sqldriver.ConnPrepareContext = (*conn)(nil)
	_ sqldriver.ExecerContext      = (*conn)(nil)
	_ sqldriver.QueryerContext     = (*conn)(nil)
	_ sqldriver.NamedValueChecker  = (*conn)(nil)
	_ sqldriver.Pinger             = (*conn)(nil)
	_ sqldriver.SessionResetter    = (*conn)(nil)
	_ sqldriver.Validator          = (*conn)(nil)
)

func (c *conn) Prepare(query string) (sqldriver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *conn) PrepareContext(ctx context.Context, query string) (sqldriver.Stmt, error) {
	s, err := c.db.Prepare(ctx, query)
	if err != nil {
		return nil, err
	}
	return &stmt{c: c, s: s}, nil
}

// Close rolls back a transaction left open and releases the connection's
// reference to the database, if it holds one.
func (c *conn) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	if c.tx != nil {
		_ = c.tx.Rollback()
		c.tx = nil
	}
	if c.release != nil {
		return c.release()
	}
	return nil
}

func (c *conn) Begin() (sqldriver.Tx, error) {
	return c.BeginTx(context.Background(), sqldriver.TxOptions{})
}

// BeginTx starts a write transaction, or a read-only one. softdb's
// transactions are serializable: other isolation levels are refused
// rather than silently strengthened.
func (c *conn) BeginTx(ctx context.Context, opts sqldriver.TxOptions) (sqldriver.Tx, error) {
	switch l := sql.IsolationLevel(opts.Isolation); l {
	case sql.LevelDefault, sql.LevelSerializable:
	default:
		return nil, fmt.Errorf("softdb: isolation level %s is not supported: transactions are serializable (use sql.LevelDefault or sql.LevelSerializable)", l)
	}
	if c.tx != nil {
		return nil, errors.New("softdb: a transaction is already open on this connection")
	}
	tx, err := c.db.Begin(ctx, &softdb.TxOptions{ReadOnly: opts.ReadOnly})
	if err != nil {
		return nil, err
	}
	c.tx = tx
	return &txn{c: c, tx: tx}, nil
}

func (c *conn) ExecContext(ctx context.Context, query string, args []sqldriver.NamedValue) (sqldriver.Result, error) {
	var res softdb.Result
	var err error
	if c.tx != nil {
		res, err = c.tx.Exec(ctx, query, values(args)...)
	} else {
		res, err = c.db.Exec(ctx, query, values(args)...)
	}
	if err != nil {
		return nil, err
	}
	return result{res}, nil
}

func (c *conn) QueryContext(ctx context.Context, query string, args []sqldriver.NamedValue) (sqldriver.Rows, error) {
	var r *softdb.Rows
	var err error
	if c.tx != nil {
		r, err = c.tx.Query(ctx, query, values(args)...)
	} else {
		r, err = c.db.Query(ctx, query, values(args)...)
	}
	if err != nil {
		return nil, err
	}
	return newRows(r), nil
}

// CheckNamedValue lets vectors through as they are; other values go to
// database/sql's default conversion.
func (c *conn) CheckNamedValue(nv *sqldriver.NamedValue) error {
	if nv.Name != "" {
		return fmt.Errorf("softdb: named parameter %q is not supported: use ? or $n placeholders", nv.Name)
	}
	switch v := nv.Value.(type) {
	case []float32, []float64:
		return nil
	case Vector:
		nv.Value = []float32(v)
		return nil
	case sqldriver.Valuer:
		return sqldriver.ErrSkip
	}
	// Named slice types such as `type Embedding []float32`.
	if rv := reflect.ValueOf(nv.Value); rv.Kind() == reflect.Slice {
		switch rv.Type().Elem().Kind() {
		case reflect.Float32:
			nv.Value = rv.Convert(reflect.TypeFor[[]float32]()).Interface()
			return nil
		case reflect.Float64:
			nv.Value = rv.Convert(reflect.TypeFor[[]float64]()).Interface()
			return nil
		}
	}
	return sqldriver.ErrSkip
}

func (c *conn) Ping(ctx context.Context) error { return c.db.Ping(ctx) }

// ResetSession is called before the pool reuses the connection; a
// connection whose database was closed is discarded.
func (c *conn) ResetSession(ctx context.Context) error {
	if c.db.Ping(context.Background()) != nil {
		return sqldriver.ErrBadConn
	}
	return nil
}

func (c *conn) IsValid() bool { return !c.closed && c.db.Ping(context.Background()) == nil }

func values(args []sqldriver.NamedValue) []any {
	out := make([]any, len(args))
	for i, a := range args {
		out[i] = a.Value
	}
	return out
}

// txn is a database/sql transaction.
type txn struct {
	c  *conn
	tx *softdb.Tx
}

func (t *txn) Commit() error {
	t.c.tx = nil
	return t.tx.Commit()
}

func (t *txn) Rollback() error {
	t.c.tx = nil
	return t.tx.Rollback()
}

// stmt is a prepared statement of a connection; it runs in the
// connection's transaction when one is open.
type stmt struct {
	c *conn
	s *softdb.Stmt
}

var (
	_ sqldriver.StmtExecContext  = (*stmt)(nil)
	_ sqldriver.StmtQueryContext = (*stmt)(nil)
)

func (s *stmt) Close() error  { return s.s.Close() }
func (s *stmt) NumInput() int { return s.s.NumInput() }

func (s *stmt) Exec(args []sqldriver.Value) (sqldriver.Result, error) {
	return s.ExecContext(context.Background(), named(args))
}

func (s *stmt) Query(args []sqldriver.Value) (sqldriver.Rows, error) {
	return s.QueryContext(context.Background(), named(args))
}

func (s *stmt) ExecContext(ctx context.Context, args []sqldriver.NamedValue) (sqldriver.Result, error) {
	res, err := s.bound().Exec(ctx, values(args)...)
	if err != nil {
		return nil, err
	}
	return result{res}, nil
}

func (s *stmt) QueryContext(ctx context.Context, args []sqldriver.NamedValue) (sqldriver.Rows, error) {
	r, err := s.bound().Query(ctx, values(args)...)
	if err != nil {
		return nil, err
	}
	return newRows(r), nil
}

// bound is the statement as it runs now: inside the connection's
// transaction, if one is open.
func (s *stmt) bound() *softdb.Stmt {
	if s.c.tx != nil {
		return s.c.tx.Stmt(s.s)
	}
	return s.s
}

func named(args []sqldriver.Value) []sqldriver.NamedValue {
	out := make([]sqldriver.NamedValue, len(args))
	for i, a := range args {
		out[i] = sqldriver.NamedValue{Ordinal: i + 1, Value: a}
	}
	return out
}

type result struct{ r softdb.Result }

func (r result) LastInsertId() (int64, error) { return r.r.LastInsertID, nil }
func (r result) RowsAffected() (int64, error) { return r.r.RowsAffected, nil }

// rows adapts softdb.Rows. Vectors are copied into each row's dest, since
// database/sql hands []float32 values to the caller as they are.
type rows struct {
	r     *softdb.Rows
	types []softdb.ColumnType
}

var (
	_ sqldriver.RowsColumnTypeDatabaseTypeName = (*rows)(nil)
	_ sqldriver.RowsColumnTypeScanType         = (*rows)(nil)
	_ sqldriver.RowsColumnTypeLength           = (*rows)(nil)
)

func newRows(r *softdb.Rows) *rows { return &rows{r: r, types: r.ColumnTypes()} }

func (r *rows) Columns() []string { return r.r.Columns() }
func (r *rows) Close() error      { return r.r.Close() }

func (r *rows) Next(dest []sqldriver.Value) error {
	if !r.r.Next() {
		return io.EOF
	}
	for i, v := range r.r.Values() {
		if vec, ok := v.([]float32); ok {
			v = slices.Clone(vec)
		}
		dest[i] = v
	}
	return nil
}

// ColumnTypeDatabaseTypeName returns INT, FLOAT, TEXT or VECTOR (without
// the dimension, as database/sql asks), or "" when the type is known only
// per value.
func (r *rows) ColumnTypeDatabaseTypeName(i int) string { return r.types[i].Kind }

func (r *rows) ColumnTypeScanType(i int) reflect.Type {
	switch r.types[i].Kind {
	case "INT":
		return reflect.TypeFor[int64]()
	case "FLOAT":
		return reflect.TypeFor[float64]()
	case "TEXT":
		return reflect.TypeFor[string]()
	case "VECTOR":
		return reflect.TypeFor[[]float32]()
	}
	return reflect.TypeFor[any]()
}

// ColumnTypeLength returns a VECTOR column's dimension.
func (r *rows) ColumnTypeLength(i int) (int64, bool) {
	if r.types[i].Kind == "VECTOR" {
		return int64(r.types[i].Dim), true
	}
	return 0, false
}
