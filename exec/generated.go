package exec

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/softdb/softdb/query"
	"github.com/softdb/softdb/storage"
	"github.com/softdb/softdb/types"
)

// Generated columns: col TYPE GENERATED ALWAYS AS (expr) STORED. The
// expression names other, ordinary columns of the same row (and
// projections); its value is computed on INSERT, UPDATE and COPY, and
// again, in the same transaction, when a projection it uses changes
// (TRAIN). storage keeps the expression as text (Column.Generated).

// parseGenerated parses a stored generation expression.
func parseGenerated(text string) (query.Expr, error) {
	st, err := query.ParseOne("SELECT " + text)
	if err != nil {
		return nil, err
	}
	sel, ok := st.(*query.Select)
	if !ok || len(sel.Items) != 1 || sel.Items[0].Expr == nil {
		return nil, errorf(ErrValue, query.Pos{}, "bad generation expression %q", text)
	}
	return sel.Items[0].Expr, nil
}

// genPlan computes a table's generated columns from the other columns.
type genPlan struct {
	schema *storage.Schema
	cols   []int // the generated columns
	exprs  []expr
}

// planGenerated binds the generated columns of schema against snap; nil
// when the table has none.
func planGenerated(snap *storage.Snapshot, schema *storage.Schema) (*genPlan, error) {
	var g *genPlan
	for i, c := range schema.Columns {
		if c.Generated == "" {
			continue
		}
		e, err := parseGenerated(c.Generated)
		if err != nil {
			return nil, err
		}
		sc := &scope{schema: schema, snap: snap, aggErr: "in a generated column"}
		b, err := sc.bind(e)
		if err != nil {
			return nil, errorf(ErrValue, query.Pos{}, "generated column %s.%s: %v", schema.Name, c.Name, err)
		}
		if g == nil {
			g = &genPlan{schema: schema}
		}
		g.cols = append(g.cols, i)
		g.exprs = append(g.exprs, b)
	}
	return g, nil
}

// fill computes the generated columns of a full row in place. An error
// names the column and the row (where: "row 2", "rowid 17", "x.csv:4")
// and points at at, the statement writing it: a position inside the
// stored expression would mean nothing to the statement's author.
func (g *genPlan) fill(row []types.Value, at query.Pos, where func() string) error {
	if g == nil {
		return nil
	}
	for k, c := range g.cols {
		col := g.schema.Columns[c]
		v, err := g.exprs[k].eval(flatRow(row))
		if err == nil {
			v, err = coerce(v, col, g.schema.Name, query.Pos{})
		}
		if err != nil {
			class, msg := ErrValue, err.Error()
			if e, ok := err.(*Error); ok {
				class, msg = e.Class, e.Msg
			}
			return errorf(class, at, "generated column %s.%s, %s: %s", g.schema.Name, col.Name, where(), msg)
		}
		row[c] = v
	}
	return nil
}

// generatedTarget is the error for a generated column named as a target
// of INSERT, UPDATE or COPY.
func generatedTarget(at query.Pos, table string, c storage.Column) error {
	return errorf(ErrValue, at, "column %s.%s is generated (GENERATED ALWAYS AS (%s) STORED) and cannot be written; leave it out and it is computed", table, c.Name, c.Generated)
}

// writableColumns are the columns a statement without a column list
// fills: all but the generated ones.
func writableColumns(schema *storage.Schema) []int {
	var out []int
	for i, c := range schema.Columns {
		if c.Generated == "" {
			out = append(out, i)
		}
	}
	return out
}

// defineGenerated checks CREATE TABLE's generation expressions against
// the new schema and stores their text: they may name only ordinary
// columns of the table (not rowid, not another generated column) and
// projections, and must give the column's type and dimension.
func defineGenerated(snap *storage.Snapshot, schema *storage.Schema, defs []query.ColumnDef) error {
	for i, d := range defs {
		if d.Generated == nil {
			continue
		}
		c := &schema.Columns[i]
		if c.PrimaryKey {
			return errorf(ErrValue, d.At, "generated column %q cannot be the PRIMARY KEY", c.Name)
		}
		c.Generated = query.Format(d.Generated)
	}
	for i, d := range defs {
		if d.Generated == nil {
			continue
		}
		var bad error
		walk(d.Generated, func(x query.Expr) {
			ref, ok := x.(*query.ColumnRef)
			if !ok || bad != nil {
				return
			}
			if j := schema.ColumnIndex(ref.Name); j >= 0 && schema.Columns[j].Generated != "" {
				bad = errorf(ErrValue, ref.At, "generated column %q cannot use generated column %q", schema.Columns[i].Name, schema.Columns[j].Name)
			} else if j < 0 && strings.EqualFold(ref.Name, "rowid") {
				bad = errorf(ErrValue, ref.At, "generated column %q cannot use rowid", schema.Columns[i].Name)
			}
		})
		if bad != nil {
			return bad
		}
		sc := &scope{schema: schema, snap: snap, aggErr: "in a generated column"}
		b, err := sc.bind(d.Generated)
		if err != nil {
			return err
		}
		c := schema.Columns[i]
		t := b.typ()
		switch {
		case c.Type.Kind == types.Vector && t.Kind == types.Vector && t.Dim > 0 && t.Dim != c.Type.Dim:
			return errorf(ErrDimension, d.Generated.Position(), "generated column %s.%s is %s, but its expression gives dimension %d", schema.Name, c.Name, c.Type, t.Dim)
		case t.Kind != types.Null && t.Kind != c.Type.Kind && !(c.Type.Kind == types.Float && t.Kind == types.Int):
			return errorf(ErrType, d.Generated.Position(), "generated column %s.%s is %s, but its expression gives %s", schema.Name, c.Name, c.Type, t)
		}
	}
	return nil
}

// generatedUsers names the generated columns (table.column) that use the
// projection name.
func generatedUsers(snap *storage.Snapshot, name string) []string {
	var out []string
	for _, t := range snap.Tables() {
		for _, c := range t.Schema().Columns {
			if c.Generated == "" {
				continue
			}
			e, err := parseGenerated(c.Generated)
			if err == nil && slices.Contains(projectionsIn(e), strings.ToLower(name)) {
				out = append(out, t.Name()+"."+c.Name)
			}
		}
	}
	return out
}

// refreshGenerated recomputes, within tx, every row of every table with
// a generated column that uses one of the projections names (lower-case).
func refreshGenerated(ctx context.Context, tx *storage.Tx, names []string) error {
	snap := tx.View()
	for _, t := range snap.Tables() {
		schema := t.Schema()
		uses := false
		for _, c := range schema.Columns {
			if c.Generated == "" {
				continue
			}
			if e, err := parseGenerated(c.Generated); err == nil {
				for _, p := range projectionsIn(e) {
					uses = uses || slices.Contains(names, p)
				}
			}
		}
		if !uses {
			continue
		}
		g, err := planGenerated(snap, schema)
		if err != nil {
			return err
		}
		rows, err := scanRows(ctx, t, nil, -1)
		if err != nil {
			return err
		}
		ids := make([]int64, len(rows))
		newRows := make([][]types.Value, len(rows))
		cancel := newCanceller(ctx)
		for ri := range rows {
			if err := cancel.tick(); err != nil {
				return err
			}
			r := &rows[ri]
			row := make([]types.Value, len(schema.Columns))
			for c := range row {
				row[c] = r.seg.Value(c, r.i)
			}
			if err := g.fill(row, query.Pos{}, func() string { return fmt.Sprintf("rowid %d", r.rowid) }); err != nil {
				return err
			}
			ids[ri], newRows[ri] = r.rowid, row
		}
		if err := tx.Update(schema.Name, ids, newRows); err != nil {
			return err
		}
		snap = tx.View()
	}
	return nil
}
