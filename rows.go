package softdb

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"

	"github.com/softdb/softdb/exec"
	"github.com/softdb/softdb/types"
)

// Rows is the result of a query: call Next before each row, then Scan or
// Values to read it. The whole result is computed before Query returns,
// so Rows holds it in memory, reading never fails once Query has
// succeeded, and Rows stays readable after the DB is closed. Close
// releases the memory early (Next returning false also does); Close is
// idempotent. Rows is not safe for concurrent use.
type Rows struct {
	cols   []string
	typ    []types.Type
	rows   [][]types.Value
	i      int
	closed bool
}

func newRows(res *exec.Result) *Rows {
	return &Rows{cols: res.Columns, typ: res.Types, rows: res.Rows, i: -1}
}

// Columns returns the names of the result columns. The slice is shared:
// do not modify it.
func (r *Rows) Columns() []string { return r.cols }

// ColumnType describes a result column.
type ColumnType struct {
	Name string
	// Kind is "INT", "FLOAT", "TEXT" or "VECTOR"; "" when the column's type
	// is only known per value (SELECT NULL, an expression over a
	// parameter).
	Kind string
	Dim  int // the dimension of a VECTOR column, else 0
}

// String returns the type as SQL writes it, e.g. "VECTOR(3)".
func (c ColumnType) String() string {
	if c.Kind == "VECTOR" {
		return fmt.Sprintf("VECTOR(%d)", c.Dim)
	}
	return c.Kind
}

// ColumnTypes describes the result columns.
func (r *Rows) ColumnTypes() []ColumnType {
	out := make([]ColumnType, len(r.cols))
	for i, name := range r.cols {
		out[i].Name = name
		if i < len(r.typ) && r.typ[i].Kind != types.Null {
			out[i].Kind = r.typ[i].Kind.String()
			out[i].Dim = r.typ[i].Dim
		}
	}
	return out
}

// Next advances to the next row and reports whether there is one.
func (r *Rows) Next() bool {
	if r.closed {
		return false
	}
	r.i++
	if r.i >= len(r.rows) {
		r.Close()
		return false
	}
	return true
}

// Err returns the error met while iterating. Results are computed before
// Query returns, so it is nil today; check it anyway, as with
// database/sql, to stay correct if results ever stream.
func (r *Rows) Err() error { return nil }

// Close releases the rows. It is idempotent.
func (r *Rows) Close() error {
	r.closed = true
	r.rows = nil
	return nil
}

// Values returns the current row as Go values: nil (NULL), int64, float64,
// string or []float32. The vectors are shared with the database, and may
// be shared with other readers: do not modify them (Scan copies). Values
// returns nil when there is no current row.
func (r *Rows) Values() []any {
	if r.closed || r.i < 0 || r.i >= len(r.rows) {
		return nil
	}
	return toGo(r.rows[r.i])
}

// Scan copies the current row into dest, one pointer per column. A
// destination may be:
//
//   - *int64, *int, *int32, *int16, *int8 and the unsigned kinds (INT,
//     or a FLOAT with an integral value, that fits the type);
//     *float64, *float32 (FLOAT or INT; for *float32 within its range);
//     *bool (INT: non-zero is true);
//   - *string (TEXT; other kinds in their text form); *[]byte (a copy);
//   - *[]float32 or *[]float64 for a VECTOR: each Scan allocates a new
//     slice, so a slice from an earlier row is never overwritten;
//   - *any: nil, int64, float64, string or []float32 (a copy);
//   - a sql.Scanner (anything with a Scan(src any) error method), given
//     the value as *any would hold it;
//   - a pointer to a pointer, such as **string, which receives nil for
//     NULL. Scanning NULL into any other destination except *any and a
//     Scanner is an error.
func (r *Rows) Scan(dest ...any) error {
	if r.closed || r.i < 0 || r.i >= len(r.rows) {
		return errors.New("softdb: Scan called without a successful Next")
	}
	row := r.rows[r.i]
	if len(dest) != len(row) {
		return fmt.Errorf("softdb: Scan expects %d destinations, got %d", len(row), len(dest))
	}
	for i, d := range dest {
		if err := scanValue(row[i], d); err != nil {
			return fmt.Errorf("softdb: Scan column %d (%s): %w", i+1, r.cols[i], err)
		}
	}
	return nil
}

// scanner is database/sql's Scanner, declared here so that this package
// does not depend on database/sql.
type scanner interface {
	Scan(src any) error
}

func scanValue(v types.Value, dest any) error {
	switch d := dest.(type) {
	case *any:
		*d = goValue(v, true)
		return nil
	case scanner:
		return d.Scan(goValue(v, true))
	}
	rv := reflect.ValueOf(dest)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("destination must be a non-nil pointer, got %T", dest)
	}
	if rv.Elem().Kind() == reflect.Pointer {
		// **T: nil for NULL, else a new T scanned into.
		if v.IsNull() {
			rv.Elem().Set(reflect.Zero(rv.Elem().Type()))
			return nil
		}
		p := reflect.New(rv.Elem().Type().Elem())
		if err := scanValue(v, p.Interface()); err != nil {
			return err
		}
		rv.Elem().Set(p)
		return nil
	}
	if v.IsNull() {
		return fmt.Errorf("cannot scan NULL into %T; use a pointer to a pointer (e.g. **string), *any or a sql.Null type", dest)
	}
	switch d := dest.(type) {
	case *int64:
		if i, ok := asInt(v, math.MinInt64, math.MaxInt64); ok {
			*d = i
			return nil
		}
	case *int:
		if i, ok := asInt(v, math.MinInt, math.MaxInt); ok {
			*d = int(i)
			return nil
		}
	case *int32:
		if i, ok := asInt(v, math.MinInt32, math.MaxInt32); ok {
			*d = int32(i)
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
	case *int16:
		if i, ok := asInt(v, math.MinInt16, math.MaxInt16); ok {
			*d = int16(i)
			return nil
		}
	case *int8:
		if i, ok := asInt(v, math.MinInt8, math.MaxInt8); ok {
			*d = int8(i)
			return nil
		}
	case *uint64, *uint, *uint32, *uint16, *uint8:
		// Unsigned: an INT from 0 up to what the type holds (an INT is at
		// most MaxInt64, which uint64 and uint hold).
		hi := map[reflect.Kind]int64{reflect.Uint64: math.MaxInt64, reflect.Uint: math.MaxInt64,
			reflect.Uint32: math.MaxUint32, reflect.Uint16: math.MaxUint16, reflect.Uint8: math.MaxUint8}[rv.Elem().Kind()]
		if i, ok := asInt(v, 0, hi); ok {
			rv.Elem().SetUint(uint64(i))
			return nil
		}
	case *float32:
		// A FLOAT past float32's range does not fit: an error, as
		// database/sql's conversion gives, not ±Inf.
		if f, ok := v.AsFloat(); ok && !math.IsInf(float64(float32(f)), 0) {
			*d = float32(f)
			return nil
		}
	case *string:
		*d = v.String()
		return nil
	case *[]byte:
		*d = []byte(v.String())
		return nil
	case *[]float32:
		if v.K == types.Vector {
			*d = slices.Clone(v.V)
			return nil
		}
	case *[]float64:
		if v.K == types.Vector {
			out := make([]float64, len(v.V))
			for i, x := range v.V {
				out[i] = float64(x)
			}
			*d = out
			return nil
		}
	default:
		return fmt.Errorf("unsupported destination type %T", dest)
	}
	return fmt.Errorf("cannot scan %s %s into %T", v.K, clipText(v.String()), dest)
}

// asInt returns an INT, or a FLOAT with an integral value, within [lo, hi].
func asInt(v types.Value, lo, hi int64) (int64, bool) {
	switch v.K {
	case types.Int:
		return v.I, v.I >= lo && v.I <= hi
	case types.Float:
		if v.F == math.Trunc(v.F) && v.F >= float64(lo) && v.F < -float64(lo) && v.F <= float64(hi) {
			return int64(v.F), true
		}
	}
	return 0, false
}

func clipText(s string) string {
	if len(s) > 40 {
		return s[:37] + "..."
	}
	return s
}

// Row is the result of QueryRow.
type Row struct {
	rows *Rows
	err  error
}

// Scan reads the first row into dest (see Rows.Scan) and discards the
// rest; it returns ErrNoRows when there is no row, and the query's error
// if it failed.
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

// Err returns the query's error, if any, without scanning.
func (r *Row) Err() error { return r.err }
