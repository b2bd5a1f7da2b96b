package softdb

import (
	"errors"
	"fmt"
	"reflect"

	"github.com/softdb/softdb/exec"
	"github.com/softdb/softdb/types"
)

// Rows is the result of a query. Call Next before each row, Scan to read
// it, and Close when done (Close is idempotent; Next returning false closes
// too). Rows is not safe for concurrent use.
type Rows struct {
	cols  []string
	typ   []types.Type
	rows  [][]types.Value
	i     int
	close bool
}

func newRows(res *exec.Result) *Rows {
	return &Rows{cols: res.Columns, typ: res.Types, rows: res.Rows, i: -1}
}

// Columns returns the names of the result columns.
func (r *Rows) Columns() []string { return r.cols }

// ColumnTypes returns the declared type of each column ("INT", "FLOAT",
// "TEXT", "VECTOR(n)"), or "" when it is only known per value.
func (r *Rows) ColumnTypes() []string {
	out := make([]string, len(r.typ))
	for i, t := range r.typ {
		if t.Kind != types.Null {
			out[i] = t.String()
		}
	}
	return out
}

// Next advances to the next row and reports whether there is one.
func (r *Rows) Next() bool {
	if r.close {
		return false
	}
	r.i++
	if r.i >= len(r.rows) {
		r.close = true
		return false
	}
	return true
}

// Err returns the error met while iterating, if any. Results are computed
// before Query returns, so it is always nil today; check it anyway.
func (r *Rows) Err() error { return nil }

// Close releases the rows.
func (r *Rows) Close() error {
	r.close = true
	r.rows = nil
	return nil
}

// Values returns the current row as Go values: nil (NULL), int64, float64,
// string or []float32. Vectors are shared with the database: do not modify
// them.
func (r *Rows) Values() []any {
	if r.i < 0 || r.i >= len(r.rows) {
		return nil
	}
	return toGo(r.rows[r.i])
}

// Scan copies the current row into dest, one pointer per column:
// *int64, *int, *float64, *float32, *string, *[]float32, *bool, *any, or a
// pointer to a pointer (e.g. **string) to receive NULL as nil. Scanning
// NULL into a non-pointer, non-any destination is an error. Vectors are
// copied.
func (r *Rows) Scan(dest ...any) error {
	if r.i < 0 || r.i >= len(r.rows) {
		return errors.New("softdb: Scan called without a successful Next")
	}
	row := r.rows[r.i]
	if len(dest) != len(row) {
		return fmt.Errorf("softdb: Scan expects %d destinations, got %d", len(row), len(dest))
	}
	for i, d := range dest {
		if err := scanValue(row[i], d); err != nil {
			return fmt.Errorf("softdb: column %d (%s): %w", i+1, r.cols[i], err)
		}
	}
	return nil
}

func scanValue(v types.Value, dest any) error {
	switch d := dest.(type) {
	case *any:
		g := toGo([]types.Value{v})[0]
		if vec, ok := g.([]float32); ok {
			g = append([]float32(nil), vec...)
		}
		*d = g
		return nil
	}
	if v.IsNull() {
		rv := reflect.ValueOf(dest)
		if rv.Kind() == reflect.Pointer && rv.Elem().Kind() == reflect.Pointer {
			rv.Elem().Set(reflect.Zero(rv.Elem().Type()))
			return nil
		}
		return errors.New("NULL cannot be scanned into a non-pointer destination; use a **T or *any")
	}
	rv := reflect.ValueOf(dest)
	if rv.Kind() == reflect.Pointer && rv.Elem().Kind() == reflect.Pointer {
		// **T: allocate the T and scan into it.
		p := reflect.New(rv.Elem().Type().Elem())
		if err := scanValue(v, p.Interface()); err != nil {
			return err
		}
		rv.Elem().Set(p)
		return nil
	}
	switch d := dest.(type) {
	case *int64:
		if v.K == types.Int {
			*d = v.I
			return nil
		}
	case *int:
		if v.K == types.Int {
			*d = int(v.I)
			return nil
		}
	case *bool:
		if v.K == types.Int {
			*d = v.I != 0
			return nil
		}
	case *float64:
		if f, ok := v.AsFloat(); ok {
			*d = f
			return nil
		}
	case *float32:
		if f, ok := v.AsFloat(); ok {
			*d = float32(f)
			return nil
		}
	case *string:
		if v.K == types.Text {
			*d = v.S
		} else {
			*d = v.String()
		}
		return nil
	case *[]float32:
		if v.K == types.Vector {
			*d = append((*d)[:0], v.V...)
			return nil
		}
	default:
		return fmt.Errorf("unsupported destination type %T", dest)
	}
	return fmt.Errorf("cannot scan %s into %T", v.K, dest)
}

// Row is the result of QueryRow.
type Row struct {
	rows *Rows
	err  error
}

// ErrNoRows is returned by Row.Scan when the query returned no row.
var ErrNoRows = errors.New("softdb: no rows in result set")

// Scan reads the first row into dest; ErrNoRows when there is none.
func (r *Row) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	defer r.rows.Close()
	if !r.rows.Next() {
		return ErrNoRows
	}
	return r.rows.Scan(dest...)
}

// Err returns the error of the query, if any.
func (r *Row) Err() error { return r.err }
