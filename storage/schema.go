package storage

import (
	"fmt"
	"strings"

	"github.com/softdb/softdb/types"
)

// Column describes one column of a table.
type Column struct {
	Name       string
	Type       types.Type
	NotNull    bool
	PrimaryKey bool // implies NotNull; CreateTable sets NotNull for it
	// Generated is the SQL text of a generated column's expression
	// (GENERATED ALWAYS AS (expr) STORED), "" for an ordinary column. The
	// executor computes its values; storage keeps them like any other.
	Generated string
}

// Schema describes a table. A *Schema obtained from a Table is shared and
// must not be modified.
type Schema struct {
	Name    string
	Columns []Column
}

// ColumnIndex returns the index of the named column (case-insensitive), or
// -1 if there is none.
func (s *Schema) ColumnIndex(name string) int {
	for i := range s.Columns {
		if strings.EqualFold(s.Columns[i].Name, name) {
			return i
		}
	}
	return -1
}

// PrimaryKey returns the index of the PRIMARY KEY column, or -1.
func (s *Schema) PrimaryKey() int {
	for i := range s.Columns {
		if s.Columns[i].PrimaryKey {
			return i
		}
	}
	return -1
}

// reservedNames are the pseudo-columns the executor adds (SPEC §3, §4).
var reservedNames = []string{"rowid", "score", "weight", "qrow"}

// validate checks s and returns a normalised deep copy (PRIMARY KEY
// columns become NOT NULL).
func (s *Schema) validate() (*Schema, error) {
	bad := func(format string, args ...any) error {
		return &SchemaError{Table: s.Name, Msg: fmt.Sprintf(format, args...)}
	}
	if s.Name == "" {
		return nil, bad("table name must not be empty")
	}
	if len(s.Columns) == 0 {
		return nil, bad("table %q must have at least one column", s.Name)
	}
	out := &Schema{Name: s.Name, Columns: append([]Column(nil), s.Columns...)}
	seen := make(map[string]bool, len(s.Columns))
	pk := -1
	for i := range out.Columns {
		c := &out.Columns[i]
		if c.Name == "" {
			return nil, bad("column %d of table %q has an empty name", i+1, s.Name)
		}
		low := strings.ToLower(c.Name)
		for _, r := range reservedNames {
			if low == r {
				return nil, bad("column name %q is reserved", c.Name)
			}
		}
		if seen[low] {
			return nil, bad("duplicate column name %q in table %q", c.Name, s.Name)
		}
		seen[low] = true
		switch c.Type.Kind {
		case types.Int, types.Float, types.Text:
			c.Type.Dim = 0
		case types.Vector:
			if c.Type.Dim < 1 || c.Type.Dim > types.MaxDim {
				return nil, bad("VECTOR dimension of column %q must be between 1 and %d, got %d", c.Name, types.MaxDim, c.Type.Dim)
			}
		default:
			return nil, bad("column %q has invalid type %v", c.Name, c.Type)
		}
		if c.PrimaryKey {
			if pk >= 0 {
				return nil, bad("table %q has more than one primary key", s.Name)
			}
			pk = i
			if c.Type.Kind != types.Int && c.Type.Kind != types.Text {
				return nil, bad("PRIMARY KEY column %q must be INT or TEXT, not %v", c.Name, c.Type)
			}
			c.NotNull = true
		}
	}
	return out, nil
}

// checkRow validates one full row against the schema: length, kinds,
// NOT NULL, vector dimension, and finiteness of FLOATs and vector elements.
func (s *Schema) checkRow(row []types.Value) error {
	if len(row) != len(s.Columns) {
		return &ValueError{Table: s.Name, Msg: fmt.Sprintf("table %s has %d columns but %d values were supplied", s.Name, len(s.Columns), len(row))}
	}
	for i := range row {
		c := &s.Columns[i]
		v := &row[i]
		if v.K == types.Null {
			if c.NotNull {
				return notNullError(s.Name, c.Name)
			}
			continue
		}
		if v.K != c.Type.Kind {
			return &ValueError{Table: s.Name, Column: c.Name, Msg: fmt.Sprintf("type mismatch for %s.%s: expected %v, got %v", s.Name, c.Name, c.Type.Kind, v.K)}
		}
		if v.K == types.Float && v.F-v.F != 0 { // NaN or ±Inf
			return &ValueError{Table: s.Name, Column: c.Name, Msg: fmt.Sprintf("invalid FLOAT for %s.%s: %v", s.Name, c.Name, v.F)}
		}
		if v.K == types.Vector {
			if len(v.V) != c.Type.Dim {
				return &DimensionError{Table: s.Name, Column: c.Name, Want: c.Type.Dim, Got: len(v.V)}
			}
			for j, x := range v.V {
				if x-x != 0 { // NaN or ±Inf
					return &ValueError{Table: s.Name, Column: c.Name, Msg: fmt.Sprintf("invalid vector for %s.%s: element %d is %v", s.Name, c.Name, j+1, x)}
				}
			}
		}
	}
	return nil
}

// sqlLiteral renders a PRIMARY KEY value for an error message.
func sqlLiteral(v types.Value) string {
	if v.K == types.Text {
		return "'" + strings.ReplaceAll(v.S, "'", "''") + "'"
	}
	return v.String()
}
