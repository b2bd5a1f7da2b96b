package exec

import (
	"strings"

	"github.com/softdb/softdb/query"
	"github.com/softdb/softdb/storage"
	"github.com/softdb/softdb/types"
)

// Description tells, before a statement runs, what its placeholders
// expect and what its result looks like: what a client of the PostgreSQL
// wire protocol asks for when it prepares a statement.
type Description struct {
	// Params has one type per placeholder $1…$n: the column type a
	// placeholder is stored into or compared with, VECTOR for a MATCH
	// query, FLOAT for TEMPERATURE, INT for TOP, LIMIT and OFFSET; Kind
	// Null where the statement does not tell.
	Params []types.Type
	// Columns and Types describe the rows of a statement that returns
	// rows (HasRows); Kind Null where the type is only known per value.
	Columns []string
	Types   []types.Type
	HasRows bool
}

// Describe binds and plans stmt, which has nparams placeholders, without
// running it. A statement that refers to a missing table or column fails
// here as it would when run.
func (s *Session) Describe(stmt query.Statement, nparams int) (*Description, error) {
	snap := s.snapshot()
	d := &Description{Params: make([]types.Type, nparams)}
	inferParams(snap, stmt, d.Params)
	switch n := stmt.(type) {
	case *query.Select:
		// Plan with a stand-in of the inferred type for each placeholder:
		// the result's shape does not depend on the values.
		params := make([]types.Value, nparams)
		for i, t := range d.Params {
			params[i] = standIn(t)
		}
		p, err := planSelect(snap, n, params)
		if err != nil {
			return nil, err
		}
		d.Columns, d.Types, d.HasRows = p.out.names, p.out.types, true
	case *query.ShowTables:
		d.Columns = []string{"name", "rows"}
		d.Types = []types.Type{{Kind: types.Text}, {Kind: types.Int}}
		d.HasRows = true
	case *query.Describe:
		if _, err := tableOf(snap, n.Table); err != nil {
			return nil, err
		}
		d.Columns = []string{"column", "type", "not_null", "primary_key"}
		d.Types = []types.Type{{Kind: types.Text}, {Kind: types.Text}, {Kind: types.Int}, {Kind: types.Int}}
		d.HasRows = true
	case *query.ShowSetting:
		if _, err := s.setting(n); err != nil {
			return nil, err
		}
		d.Columns, d.Types, d.HasRows = []string{strings.ToLower(n.Name.Name)}, []types.Type{{Kind: types.Text}}, true
	case *query.Explain:
		d.Columns = []string{"plan"}
		d.Types = []types.Type{{Kind: types.Text}}
		d.HasRows = true
	case *query.Copy:
		// The columns COPY loads or writes, in order (it returns no rows):
		// a client streaming the data itself (the server's COPY … FROM
		// STDIN) needs them.
		t, err := tableOf(snap, n.Table)
		if err != nil {
			return nil, err
		}
		_, cols, err := copyTargets(t, n)
		if err != nil {
			return nil, err
		}
		for _, c := range cols {
			d.Columns = append(d.Columns, c.Name)
			d.Types = append(d.Types, c.Type)
		}
	}
	return d, nil
}

// standIn is a value of type t for planning: the plan's shape depends on
// the types of the placeholders, not on their values.
func standIn(t types.Type) types.Value {
	switch t.Kind {
	case types.Int:
		return types.IntValue(1)
	case types.Float:
		return types.FloatValue(1)
	case types.Text:
		return types.TextValue("")
	case types.Vector:
		return types.VectorValue(make([]float32, max(t.Dim, 1)))
	}
	return types.Value{}
}

// inferParams sets out[i] to the type placeholder $i+1 is used as, where
// the statement tells: stored into a column, compared with one, a MATCH
// query, a TEMPERATURE, TOP, LIMIT or OFFSET.
func inferParams(snap *storage.Snapshot, stmt query.Statement, out []types.Type) {
	set := func(e query.Expr, t types.Type) {
		if p, ok := e.(*query.Param); ok && p.Index >= 1 && p.Index <= len(out) && out[p.Index-1].Kind == types.Null {
			out[p.Index-1] = t
		}
	}
	colType := func(schema *storage.Schema, e query.Expr) (types.Type, bool) {
		if c, ok := e.(*query.ColumnRef); ok && schema != nil {
			if i := schema.ColumnIndex(c.Name); i >= 0 {
				return schema.Columns[i].Type, true
			}
		}
		return types.Type{}, false
	}
	schemaOf := func(name string) *storage.Schema {
		if t := snap.Table(name); t != nil {
			return t.Schema()
		}
		return nil
	}
	// compared visits e's comparisons of a column with a placeholder.
	compared := func(schema *storage.Schema, e query.Expr) {
		if e == nil {
			return
		}
		query.Walk(e, func(n query.Node) bool {
			switch x := n.(type) {
			case *query.Binary:
				if t, ok := colType(schema, x.L); ok {
					set(x.R, t)
				}
				if t, ok := colType(schema, x.R); ok {
					set(x.L, t)
				}
			case *query.In:
				if t, ok := colType(schema, x.X); ok {
					for _, v := range x.List {
						set(v, t)
					}
				}
			case *query.Subquery:
				return false // its own scope; visited as a Select below
			}
			return true
		})
	}
	var visit func(n query.Node) bool
	visit = func(n query.Node) bool {
		switch x := n.(type) {
		case *query.Insert:
			schema := schemaOf(x.Table.Name)
			if schema == nil {
				return true
			}
			for _, row := range x.Rows {
				for j, e := range row {
					i := j
					if x.Columns != nil {
						if j >= len(x.Columns) {
							break
						}
						i = schema.ColumnIndex(x.Columns[j].Name)
					}
					if i >= 0 && i < len(schema.Columns) {
						set(e, schema.Columns[i].Type)
					}
				}
			}
		case *query.Update:
			schema := schemaOf(x.Table.Name)
			if schema == nil {
				return true
			}
			for _, a := range x.Set {
				if i := schema.ColumnIndex(a.Column.Name); i >= 0 {
					set(a.Value, schema.Columns[i].Type)
				}
			}
			compared(schema, x.Where)
		case *query.Delete:
			compared(schemaOf(x.Table.Name), x.Where)
		case *query.Select:
			var schema *storage.Schema
			if x.From != nil {
				schema = schemaOf(x.From.Name)
			}
			if m := x.Match; m != nil {
				vt := types.Type{Kind: types.Vector}
				if schema != nil {
					col := matchColumn(schema)
					if m.On != nil {
						col = schema.ColumnIndex(m.On.Name)
					}
					if col >= 0 {
						vt = schema.Columns[col].Type
					}
				}
				set(m.Query, vt)
				set(m.Temperature, types.Type{Kind: types.Float})
				set(m.Top, types.Type{Kind: types.Int})
			}
			compared(schema, x.Where)
			compared(schema, x.Having)
			set(x.Limit, types.Type{Kind: types.Int})
			set(x.Offset, types.Type{Kind: types.Int})
		}
		return true
	}
	query.Walk(stmt, visit)
}
