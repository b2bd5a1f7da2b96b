package exec

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/softdb/softdb/query"
	"github.com/softdb/softdb/storage"
	"github.com/softdb/softdb/types"
)

func createTable(tx *storage.Tx, s *query.CreateTable) error {
	if s.IfNotExists && tx.View().Table(s.Name.Name) != nil {
		return nil
	}
	schema := storage.Schema{Name: s.Name.Name}
	for _, c := range s.Columns {
		schema.Columns = append(schema.Columns, storage.Column{
			Name: c.Name.Name, Type: c.Type, NotNull: c.NotNull || c.PrimaryKey, PrimaryKey: c.PrimaryKey,
		})
	}
	if err := defineGenerated(tx.View(), &schema, s.Columns); err != nil {
		return err
	}
	return tx.CreateTable(schema)
}

func dropTable(tx *storage.Tx, s *query.DropTable) error {
	if tx.View().Table(s.Name.Name) == nil {
		if s.IfExists {
			return nil
		}
		return errorf(ErrNotFound, s.Name.At, "table %q does not exist", s.Name.Name)
	}
	return tx.DropTable(s.Name.Name)
}

func tableOf(snap *storage.Snapshot, id query.Ident) (*storage.Table, error) {
	t := snap.Table(id.Name)
	if t == nil {
		return nil, errorf(ErrNotFound, id.At, "table %q does not exist", id.Name)
	}
	return t, nil
}

// value evaluates the VALUES expression e. A placeholder in range is
// its parameter, without binding a node for it (what bind would return,
// a constant, evaluates to the same value).
func (s *scope) value(e query.Expr) (types.Value, error) {
	if p, ok := e.(*query.Param); ok && p.Index >= 1 && p.Index <= len(s.params) {
		return s.params[p.Index-1], nil
	}
	b, err := s.bind(e)
	if err != nil {
		return types.Value{}, err
	}
	return b.eval(flatRow(nil))
}

func insert(tx *storage.Tx, s *query.Insert, params []types.Value) (n, lastID int64, err error) {
	t, err := tableOf(tx.View(), s.Table)
	if err != nil {
		return 0, 0, err
	}
	schema := t.Schema()
	// target[i] = the schema column of the i-th listed value.
	target := writableColumns(schema)
	if s.Columns != nil {
		target = nil
		seen := map[int]bool{}
		for _, c := range s.Columns {
			i := schema.ColumnIndex(c.Name)
			if i < 0 {
				return 0, 0, errorf(ErrNotFound, c.At, "column %q does not exist in table %q", c.Name, schema.Name)
			}
			if seen[i] {
				return 0, 0, errorf(ErrValue, c.At, "column %q is listed twice", c.Name)
			}
			if schema.Columns[i].Generated != "" {
				return 0, 0, generatedTarget(c.At, schema.Name, schema.Columns[i])
			}
			seen[i] = true
			target = append(target, i)
		}
	}
	sc := &scope{params: params, aggErr: "in VALUES", snap: tx.View()}
	gen, err := planGenerated(tx.View(), schema)
	if err != nil {
		return 0, 0, err
	}
	rows := make([][]types.Value, len(s.Rows))
	for ri, exprs := range s.Rows {
		if len(exprs) != len(target) {
			pos := s.At
			if len(exprs) > 0 {
				pos = exprs[0].Position()
			}
			return 0, 0, errorf(ErrValue, pos, "row %d has %d values, but %d columns are being inserted into %q", ri+1, len(exprs), len(target), schema.Name) // counts, not words: no plural to get wrong
		}
		row := make([]types.Value, len(schema.Columns))
		for j, e := range exprs {
			v, err := sc.value(e)
			if err != nil {
				return 0, 0, err
			}
			c := schema.Columns[target[j]]
			cv, err := coerce(v, c, schema.Name, e.Position())
			if err != nil {
				return 0, 0, err
			}
			row[target[j]] = cv
		}
		if err := gen.fill(row, s.At, func() string { return fmt.Sprintf("row %d", ri+1) }); err != nil {
			return 0, 0, err
		}
		rows[ri] = row
	}
	first, err := tx.Insert(schema.Name, rows)
	if err != nil {
		return 0, 0, err
	}
	return int64(len(rows)), first + int64(len(rows)) - 1, nil
}

// coerce converts v to column c's type: INT→FLOAT, integral FLOAT→INT,
// the text form '[1,2]'→VECTOR; anything else of the wrong kind is an error.
func coerce(v types.Value, c storage.Column, table string, pos query.Pos) (types.Value, error) {
	if v.IsNull() {
		if c.NotNull {
			return v, errorf(ErrConstraint, pos, "NOT NULL constraint failed: %s.%s", table, c.Name)
		}
		return v, nil
	}
	mismatch := func() error {
		return errorf(ErrType, pos, "type mismatch: column %s.%s is %s, got %s %s", table, c.Name, c.Type, kindName(v), clipValue(v))
	}
	switch c.Type.Kind {
	case types.Int:
		switch v.K {
		case types.Int:
			return v, nil
		case types.Float:
			if v.F == math.Trunc(v.F) && v.F >= -9.223372036854775e18 && v.F < 9.223372036854775e18 {
				return types.IntValue(int64(v.F)), nil
			}
		}
		return v, mismatch()
	case types.Float:
		if f, ok := v.AsFloat(); ok {
			if math.IsInf(f, 0) || math.IsNaN(f) {
				return v, errorf(ErrValue, pos, "column %s.%s: NaN and infinite values are not allowed in a FLOAT", table, c.Name)
			}
			return types.FloatValue(f), nil
		}
		return v, mismatch()
	case types.Text:
		if v.K == types.Text {
			return v, nil
		}
		return v, mismatch()
	case types.Vector:
		switch v.K {
		case types.Text:
			vec, err := types.ParseVector(v.S)
			if err != nil {
				return v, errorf(ErrValue, pos, "column %s.%s: %v", table, c.Name, err)
			}
			v = types.VectorValue(vec)
		case types.Vector:
		default:
			return v, mismatch()
		}
		if len(v.V) != c.Type.Dim {
			return v, errorf(ErrDimension, pos, "dimension mismatch for %s.%s: expected %d, got %d", table, c.Name, c.Type.Dim, len(v.V))
		}
		for _, x := range v.V {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return v, errorf(ErrValue, pos, "column %s.%s: NaN and infinite values are not allowed in a vector", table, c.Name)
			}
		}
		return v, nil
	}
	return v, mismatch()
}

func clipValue(v types.Value) string {
	s := v.String()
	if v.K == types.Text {
		s = "'" + s + "'"
	}
	if len(s) > 40 {
		s = s[:37] + "..."
	}
	return s
}

// matchingRows returns the live rows of t (in tx's current view) that
// satisfy where (nil: all). A WHERE that pins the rowid or the PRIMARY
// KEY to one value visits that row only (see pointLookup); anything else
// scans the table.
func matchingRows(ctx context.Context, tx *storage.Tx, t *storage.Table, where query.Expr, params []types.Value, what string) ([]srcRow, error) {
	var cond expr
	if where != nil {
		sc := &scope{schema: t.Schema(), params: params, aggErr: "in " + what, snap: tx.View()}
		c, err := sc.bind(where)
		if err != nil {
			return nil, err
		}
		cond = c
		if p, ok := pointLookup(t.Schema(), cond); ok {
			rowid := p.key.I
			if !p.rowid {
				var found, known bool
				rowid, found, known = tx.KeyRowID(t.Schema().Name, p.key)
				if !known {
					return scanRows(ctx, t, cond, -1)
				}
				if !found {
					return nil, nil
				}
			}
			return pointRow(t, cond, rowid)
		}
	}
	return scanRows(ctx, t, cond, -1)
}

// writeSourceNode is the EXPLAIN form of how an UPDATE or DELETE on
// table finds its rows: matchingRows' choice between a lookup by rowid
// or PRIMARY KEY and a scan. A WHERE that does not bind (the statement
// would fail) prints as a scan.
func writeSourceNode(snap *storage.Snapshot, table query.Ident, where query.Expr, params []types.Value) *planNode {
	t := snap.Table(table.Name)
	if t == nil || where == nil {
		return scanNode(table.Name, where)
	}
	sc := &scope{schema: t.Schema(), params: params, aggErr: "in WHERE", snap: snap}
	cond, err := sc.bind(where)
	if err != nil {
		return scanNode(table.Name, where)
	}
	p, ok := pointLookup(t.Schema(), cond)
	if !ok {
		return scanNode(table.Name, where)
	}
	by := "rowid"
	if !p.rowid {
		by = "PRIMARY KEY " + t.Schema().Columns[t.Schema().PrimaryKey()].Name
	}
	key := p.key.String()
	if p.key.K == types.Text {
		key = "'" + strings.ReplaceAll(key, "'", "''") + "'"
	}
	return node("Filter "+query.Format(where), node(fmt.Sprintf("Lookup %s by %s = %s", t.Schema().Name, by, key)))
}

// point is a WHERE conjunct that only one row can satisfy: the rowid or
// the PRIMARY KEY equals key.
type point struct {
	rowid bool
	key   types.Value // INT for the rowid and an INT key, TEXT for a TEXT key
}

// pointLookup reports whether only one row of a table of schema s can
// satisfy cond: cond is, or has as a conjunct of top-level ANDs, rowid = c
// or pk = c (either side of =), with c a literal or parameter whose value
// equals at most one key value under SQL comparison. The caller still
// evaluates all of cond on the row found, so that any conjunct does.
func pointLookup(s *storage.Schema, cond expr) (point, bool) {
	ncols := len(s.Columns)
	if v, ok := eqConst(cond, ncols+pseudoRowID); ok && v.K == types.Int {
		return point{rowid: true, key: v}, true
	}
	pk := s.PrimaryKey()
	if pk < 0 {
		return point{}, false
	}
	v, ok := eqConst(cond, pk)
	if !ok {
		return point{}, false
	}
	if k, ok := keyValue(s.Columns[pk].Type.Kind, v); ok {
		return point{key: k}, true
	}
	return point{}, false
}

// keyValue converts v to the one value of a key column of kind that
// compares equal to it (compare in expr.go), if there is exactly one.
// An INT column compares with a FLOAT as float64: an integral f with
// |f| < 2^53 equals the INT int64(f) only, since every int64 of smaller
// magnitude converts exactly, and every larger one converts to a float of
// magnitude at least 2^53. TEXT compares bytewise with TEXT only.
func keyValue(kind types.Kind, v types.Value) (types.Value, bool) {
	switch {
	case kind == types.Int && v.K == types.Int:
		return v, true
	case kind == types.Int && v.K == types.Float:
		if v.F == math.Trunc(v.F) && math.Abs(v.F) < 1<<53 {
			return types.IntValue(int64(v.F)), true
		}
	case kind == types.Text && v.K == types.Text:
		return v, true
	}
	return types.Value{}, false
}

// eqConst returns c when cond is, or has as a conjunct of top-level ANDs,
// col = c or c = col, with col the column in slot and c a constant (a
// literal or a parameter, which bind makes constants).
func eqConst(cond expr, slot int) (types.Value, bool) {
	b, ok := cond.(*binaryE)
	if !ok {
		return types.Value{}, false
	}
	switch b.op {
	case "AND":
		if v, ok := eqConst(b.l, slot); ok {
			return v, true
		}
		return eqConst(b.r, slot)
	case "=":
		l, r := b.l, b.r
		if _, isCol := l.(*colE); !isCol {
			l, r = r, l
		}
		c, ok1 := l.(*colE)
		k, ok2 := r.(*constE)
		if ok1 && ok2 && c.slot == slot {
			return k.v, true
		}
	}
	return types.Value{}, false
}

// pointRow returns the live row rowid of t if it satisfies cond: a
// search among the segments instead of a scan of the table.
func pointRow(t *storage.Table, cond expr, rowid int64) ([]srcRow, error) {
	segs := t.Segments()
	k := sort.Search(len(segs), func(i int) bool { return segs[i].Base()+int64(segs[i].Len()) > rowid })
	if k == len(segs) || segs[k].Base() > rowid {
		return nil, nil
	}
	seg := segs[k]
	i := int(rowid - seg.Base())
	if seg.Live()[i] == 0 {
		return nil, nil
	}
	r := srcRow{seg: seg, i: i, ncols: len(t.Schema().Columns), rowid: rowid}
	if ok, err := passes(cond, &r); err != nil || !ok {
		return nil, err
	}
	return []srcRow{r}, nil
}

func update(ctx context.Context, tx *storage.Tx, s *query.Update, params []types.Value) (int64, error) {
	t, err := tableOf(tx.View(), s.Table)
	if err != nil {
		return 0, err
	}
	schema := t.Schema()
	sc := &scope{schema: schema, params: params, aggErr: "in UPDATE", snap: tx.View()}
	type set struct {
		col int
		e   expr
		pos query.Pos
	}
	var sets []set
	for _, a := range s.Set {
		i := schema.ColumnIndex(a.Column.Name)
		if i < 0 {
			if strings.EqualFold(a.Column.Name, "rowid") {
				return 0, errorf(ErrValue, a.Column.At, "rowid cannot be changed")
			}
			return 0, errorf(ErrNotFound, a.Column.At, "column %q does not exist in table %q", a.Column.Name, schema.Name)
		}
		if schema.Columns[i].Generated != "" {
			return 0, generatedTarget(a.Column.At, schema.Name, schema.Columns[i])
		}
		e, err := sc.bind(a.Value)
		if err != nil {
			return 0, err
		}
		sets = append(sets, set{i, e, a.Value.Position()})
	}
	gen, err := planGenerated(tx.View(), schema)
	if err != nil {
		return 0, err
	}
	rows, err := matchingRows(ctx, tx, t, s.Where, params, "UPDATE")
	if err != nil {
		return 0, err
	}
	if len(rows) == 0 {
		return 0, nil
	}
	ids := make([]int64, len(rows))
	newRows := make([][]types.Value, len(rows))
	cancel := newCanceller(ctx)
	for ri := range rows {
		if err := cancel.tick(); err != nil {
			return 0, err
		}
		r := &rows[ri]
		row := make([]types.Value, len(schema.Columns))
		for c := range row {
			row[c] = r.seg.Value(c, r.i)
		}
		for _, st := range sets {
			v, err := st.e.eval(r) // every SET sees the old row, as in SQL
			if err != nil {
				return 0, err
			}
			cv, err := coerce(v, schema.Columns[st.col], schema.Name, st.pos)
			if err != nil {
				return 0, err
			}
			row[st.col] = cv
		}
		if err := gen.fill(row, s.At, func() string { return fmt.Sprintf("rowid %d", r.rowid) }); err != nil {
			return 0, err
		}
		ids[ri] = r.rowid
		newRows[ri] = row
	}
	if err := tx.Update(schema.Name, ids, newRows); err != nil {
		return 0, err
	}
	return int64(len(rows)), nil
}

func deleteRows(ctx context.Context, tx *storage.Tx, s *query.Delete, params []types.Value) (int64, error) {
	t, err := tableOf(tx.View(), s.Table)
	if err != nil {
		return 0, err
	}
	rows, err := matchingRows(ctx, tx, t, s.Where, params, "DELETE")
	if err != nil {
		return 0, err
	}
	if len(rows) == 0 {
		return 0, nil
	}
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.rowid
	}
	if err := tx.Delete(t.Schema().Name, ids); err != nil {
		return 0, err
	}
	return int64(len(ids)), nil
}
