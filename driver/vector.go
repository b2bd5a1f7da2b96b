package driver

import (
	sqldriver "database/sql/driver"
	"fmt"
	"slices"

	"github.com/softdb/softdb/types"
)

// Vector is a VECTOR value that works with any database/sql code path:
//
//	var v driver.Vector
//	err := db.QueryRow("SOFT SELECT value FROM t MATCH ?", q).Scan(&v)
//
// A plain *[]float32 destination works as well with this driver; Vector
// adds NULL handling (a NULL scans as a nil Vector), the text form, and a
// Value method for code that goes through driver.Valuer.
type Vector []float32

var (
	_ sqldriver.Valuer = Vector(nil)
	_ fmt.Stringer     = Vector(nil)
)

// Scan stores src in v: nil gives a nil Vector; []float32 and []float64 are
// copied; a string or []byte is parsed from the text form "[1, 2.5]".
func (v *Vector) Scan(src any) error {
	switch x := src.(type) {
	case nil:
		*v = nil
	case []float32:
		*v = slices.Clone(x)
	case []float64:
		out := make(Vector, len(x))
		for i, f := range x {
			out[i] = float32(f)
		}
		*v = out
	case string:
		return v.parse(x)
	case []byte:
		return v.parse(string(x))
	default:
		return fmt.Errorf("softdb: cannot scan %T into a driver.Vector", src)
	}
	return nil
}

func (v *Vector) parse(s string) error {
	f, err := types.ParseVector(s)
	if err != nil {
		return fmt.Errorf("softdb: scanning a driver.Vector: %w", err)
	}
	*v = f
	return nil
}

// Value returns the vector in its text form, or nil for a nil Vector. The
// softdb driver passes the elements themselves; the text form is for
// code paths that convert through driver.Valuer.
func (v Vector) Value() (sqldriver.Value, error) {
	if v == nil {
		return nil, nil
	}
	return v.String(), nil
}

// String returns the text form, e.g. "[1, 2.5]".
func (v Vector) String() string { return types.FormatVector(v) }
