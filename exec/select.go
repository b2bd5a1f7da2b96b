package exec

import (
	"context"
	"errors"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/softdb/softdb/query"
	"github.com/softdb/softdb/storage"
	"github.com/softdb/softdb/types"
)

// selectPlan is the plan of a SELECT: a source (table scan or match), a
// filter, and the output pipeline. Plans are data: run* functions execute
// them and explain prints them.
type selectPlan struct {
	table    *storage.Table // nil: SELECT without FROM
	memLimit int64          // per-statement memory limit (bytes)
	where    expr           // plain SELECT: filter; HARD/SOFT: the mask
	match    *matchPlan     // nil: plain SELECT
	scans    *scanShare     // shared scans of the engine (nil: run alone)
	index    *indexPlan     // nil: the match scans (indexscan.go)
	noIndex  string         // why an index on the match column is not used
	out      *outputSpec
}

// outputSpec turns source rows into result rows: projection or grouping,
// HAVING, ORDER BY, OFFSET and LIMIT.
type outputSpec struct {
	names   []string
	types   []types.Type
	items   []expr // over source rows, or over group rows when grouped
	grouped bool
	group   *groupCtx
	groupBy []expr // over source rows
	having  expr   // over group rows
	order   []sortKey
	limit   int64 // -1: none
	offset  int64
}

type sortKey struct {
	e    expr // evaluated on the source (or group) row when out < 0
	out  int  // index of the output column it names, or -1
	desc bool
}

// srcRow is a row of the source relation: a table slot plus the match
// pseudo-columns.
type srcRow struct {
	seg    *storage.Segment
	i      int
	ncols  int
	rowid  int64
	score  float32
	weight float64
	qrow   types.Value
	grad   *rowGrad // BACKWARD's row form (backward.go)
}

func (r *srcRow) get(slot int) types.Value {
	if slot < r.ncols {
		return r.seg.Value(slot, r.i)
	}
	switch slot - r.ncols {
	case pseudoRowID:
		return types.IntValue(r.rowid)
	case pseudoScore:
		return types.FloatValue(float32AsFloat64(r.score))
	case pseudoWeight:
		return types.FloatValue(r.weight)
	case pseudoQrow:
		return r.qrow
	}
	return r.gradValue(slot - r.ncols)
}

// float32AsFloat64 widens a float32 score to the float64 whose shortest
// form is the float32's (1.1f → 1.1, not 1.100000023841858): scores are
// computed in float32, and printing float32 noise would mislead.
func float32AsFloat64(f float32) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(float64(f), 'g', -1, 32), 64)
	return v
}

// planSelect binds a SELECT against a snapshot.
func planSelect(snap *storage.Snapshot, s *query.Select, params []types.Value) (*selectPlan, error) {
	p := &selectPlan{}
	sc := &scope{params: params, snap: snap, errBound: new(float64)}
	if s.From != nil {
		t := snap.Table(s.From.Name)
		if t == nil {
			return nil, errorf(ErrNotFound, s.From.At, "table %q does not exist", s.From.Name)
		}
		p.table = t
		sc.schema = t.Schema()
	}
	if s.Mode != query.Plain {
		if s.Match == nil {
			return nil, errorf(ErrValue, s.At, "%s SELECT needs MATCH", s.Mode)
		}
		if p.table == nil {
			return nil, errorf(ErrValue, s.At, "%s SELECT needs FROM", s.Mode)
		}
		sc.match = true
	} else if s.Match != nil {
		return nil, errorf(ErrValue, s.Match.At, "MATCH requires HARD SELECT or SOFT SELECT")
	}
	if s.Where != nil {
		ws := *sc
		ws.noScore = "WHERE (it chooses the rows that are matched; filter on score or weight with HAVING or an outer ORDER BY/LIMIT)"
		ws.aggErr = "in WHERE"
		w, err := ws.bind(s.Where)
		if err != nil {
			return nil, err
		}
		p.where = w
	}
	if s.Match != nil {
		m, err := planMatch(snap, s, sc, params)
		if err != nil {
			return nil, err
		}
		if m.mode == query.Hard && s.Offset != nil {
			// HARD LIMIT k OFFSET o ranks the best k + o rows and returns
			// the last k, so that pages concatenate into the ranking.
			o, err := constInt(s.Offset, params, "OFFSET")
			if err != nil {
				return nil, err
			}
			m.skip = int(min(o, math.MaxInt32))
			m.k = int(min(int64(m.k)+o, math.MaxInt32))
		}
		p.match = m
	}
	out, err := planOutput(s, sc, p.match)
	if err != nil {
		return nil, err
	}
	p.out = out
	if p.match != nil && p.match.mode == query.Soft {
		if err := p.match.planBlend(s, out, sc); err != nil {
			return nil, err
		}
		if !p.match.blend {
			p.match.rowsNeeded = int(min(matchStop(out, p.match.ncols), math.MaxInt32))
			// Aggregates without GROUP BY make one row whatever the
			// order of the rows, so a batch need not sort each query's.
			p.match.unordered = out.grouped && len(out.groupBy) == 0
		}
		if lp := p.match.learn; lp != nil {
			if err := lp.check(p.match, s); err != nil {
				return nil, err
			}
		}
	}
	if p.match != nil {
		within, err := planWithin(s, params)
		if err != nil {
			return nil, err
		}
		planIndex(p, within, sc.errBound)
	}
	return p, nil
}

func planOutput(s *query.Select, sc *scope, m *matchPlan) (*outputSpec, error) {
	out := &outputSpec{limit: -1}
	// Expand * into the table's columns.
	type item struct {
		e    query.Expr
		name string
	}
	var items []item
	for _, it := range s.Items {
		if it.Star {
			if sc.schema == nil {
				return nil, errorf(ErrValue, it.At, "SELECT * needs FROM")
			}
			for _, c := range sc.schema.Columns {
				items = append(items, item{&query.ColumnRef{At: it.At, Name: c.Name}, c.Name})
			}
			continue
		}
		name := it.Alias
		if name == "" {
			if c, ok := it.Expr.(*query.ColumnRef); ok {
				name = c.Name
			} else {
				name = query.Format(it.Expr)
			}
		}
		items = append(items, item{it.Expr, name})
	}
	grouped := len(s.GroupBy) > 0 || s.Having != nil
	for _, it := range items {
		grouped = grouped || hasAggregate(it.e)
	}
	for _, o := range s.OrderBy {
		grouped = grouped || hasAggregate(o.Expr)
	}
	out.grouped = grouped
	rowScope := sc
	if grouped {
		g := &groupCtx{src: sc}
		gsrc := *sc
		gsrc.aggErr = "in GROUP BY"
		for _, ge := range s.GroupBy {
			b, err := gsrc.bind(ge)
			if err != nil {
				return nil, err
			}
			out.groupBy = append(out.groupBy, b)
			g.keys = append(g.keys, query.Format(ge))
			g.keyType = append(g.keyType, b.typ())
		}
		gs := *sc
		gs.group = g
		rowScope = &gs
		out.group = g
	} else {
		cp := *sc
		cp.aggErr = "without GROUP BY here"
		rowScope = &cp
	}
	for _, it := range items {
		b, err := rowScope.bind(it.e)
		if err != nil {
			return nil, err
		}
		out.items = append(out.items, b)
		out.names = append(out.names, it.name)
		out.types = append(out.types, b.typ())
	}
	if s.Having != nil {
		b, err := rowScope.bind(s.Having)
		if err != nil {
			return nil, err
		}
		out.having = b
	}
	for _, o := range s.OrderBy {
		k := sortKey{out: -1, desc: o.Desc}
		if lit, ok := o.Expr.(*query.IntLit); ok {
			if lit.Value < 1 || int(lit.Value) > len(items) {
				return nil, errorf(ErrValue, lit.At, "ORDER BY position %d is not in the select list (1..%d)", lit.Value, len(items))
			}
			k.out = int(lit.Value) - 1
		} else {
			text := query.Format(o.Expr)
			for i, it := range items {
				if c, ok := o.Expr.(*query.ColumnRef); ok && c.Table == "" && strings.EqualFold(c.Name, it.name) || text == query.Format(it.e) {
					k.out = i
					break
				}
			}
			if k.out < 0 {
				b, err := rowScope.bind(o.Expr)
				if err != nil {
					return nil, err
				}
				k.e = b
			}
		}
		out.order = append(out.order, k)
	}
	if s.Limit != nil && !(m != nil && m.mode == query.Hard) {
		n, err := constInt(s.Limit, sc.params, "LIMIT")
		if err != nil {
			return nil, err
		}
		out.limit = n
	}
	if s.Offset != nil && !(m != nil && m.mode == query.Hard) {
		n, err := constInt(s.Offset, sc.params, "OFFSET")
		if err != nil {
			return nil, err
		}
		out.offset = n
	}
	return out, nil
}

// constInt evaluates a constant non-negative integer (LIMIT, OFFSET, TOP).
func constInt(e query.Expr, params []types.Value, what string) (int64, error) {
	return constIntFrom(e, params, what, 0)
}

// constIntFrom evaluates a constant integer ≥ lo (0 or 1).
func constIntFrom(e query.Expr, params []types.Value, what string, lo int64) (int64, error) {
	sc := &scope{params: params, aggErr: "in " + what}
	b, err := sc.bind(e)
	if err != nil {
		return 0, err
	}
	v, err := b.eval(flatRow(nil))
	if err != nil {
		return 0, err
	}
	if v.K == types.Float && v.F == float64(int64(v.F)) {
		v = types.IntValue(int64(v.F))
	}
	if v.K != types.Int || v.I < lo {
		if lo == 0 {
			return 0, errorf(ErrValue, e.Position(), "%s must be a non-negative integer, got %s", what, v.String())
		}
		return 0, errorf(ErrValue, e.Position(), "%s must be an integer ≥ %d, got %s", what, lo, v.String())
	}
	return v.I, nil
}

// runSelect executes a plan; qrow order and per-query pipelines are handled
// by the match code.
func runSelect(ctx context.Context, p *selectPlan) ([][]types.Value, error) {
	if m := p.match; m != nil {
		if m.blend && (p.out.limit == 0 || p.out.offset > 0) {
			// The blend form is one row per query, which LIMIT 0 or an
			// OFFSET drops, as from any one-row result.
			return nil, nil
		}
		if res, ok, err := runIndexed(ctx, p); ok || err != nil {
			return res, err
		}
		return runShared(ctx, p)
	}
	if p.table == nil {
		return finish(ctx, p.out, []srcRow{{}})
	}
	if p.out.grouped {
		// Aggregate as the scan goes: count(*) over a million rows holds
		// one group, not a million rows.
		g := newGrouper(p.out)
		if err := scanEach(ctx, p.table, p.where, g.add); err != nil {
			return nil, err
		}
		return finishGrouped(ctx, p.out, nil, g)
	}
	if err := p.checkMemory(p.memLimit, 1); err != nil {
		return nil, err
	}
	rows, err := scanRows(ctx, p.table, p.where, earlyStop(p.out))
	if err != nil {
		return nil, err
	}
	return finish(ctx, p.out, rows)
}

// noMatch is the result of a match that takes no rows (HARD … LIMIT 0):
// per query, the output pipeline over no rows, so aggregates still make
// their row.
func noMatch(ctx context.Context, p *selectPlan, qs []queryVec) ([][]types.Value, error) {
	var out [][]types.Value
	for range qs {
		rows, err := finish(ctx, p.out, nil)
		if err != nil {
			return nil, err
		}
		out = append(out, rows...)
	}
	return out, nil
}

// earlyStop is how many source rows suffice (-1: all).
func earlyStop(o *outputSpec) int64 {
	if o.grouped || len(o.order) > 0 || o.limit < 0 {
		return -1
	}
	return o.limit + o.offset
}

// matchStop is earlyStop for the rows of a SOFT SELECT in row form, which
// reach the output ordered by score descending, then rowid (weights grow
// with scores): an ORDER BY of weight or score DESC keys, optionally ended
// by rowid ASC, keeps that order, so only the first LIMIT + OFFSET rows
// are needed, as without ORDER BY.
func matchStop(o *outputSpec, ncols int) int64 {
	if o.grouped || o.limit < 0 {
		return -1
	}
	for i, k := range o.order {
		e := k.e
		if k.out >= 0 {
			e = o.items[k.out]
		}
		c, ok := e.(*colE)
		switch {
		case !ok:
			return -1
		case k.desc && (c.slot == ncols+pseudoWeight || c.slot == ncols+pseudoScore):
		case !k.desc && c.slot == ncols+pseudoRowID && i > 0 && i == len(o.order)-1:
		default:
			return -1
		}
	}
	return o.limit + o.offset
}

// scanRows returns the live rows of t that pass where, in rowid order,
// stopping after stop rows (-1: all).
func scanRows(ctx context.Context, t *storage.Table, where expr, stop int64) ([]srcRow, error) {
	var rows []srcRow
	err := scanEach(ctx, t, where, func(r *srcRow) error {
		rows = append(rows, *r)
		if stop >= 0 && int64(len(rows)) >= stop {
			return errStop
		}
		return nil
	})
	if err == errStop {
		err = nil
	}
	return rows, err
}

// errStop ends a scanEach early without an error.
var errStop = errors.New("stop")

// scanEach calls fn on each live row of t that passes where, in rowid
// order; fn must not keep its argument.
func scanEach(ctx context.Context, t *storage.Table, where expr, fn func(*srcRow) error) error {
	ncols := len(t.Schema().Columns)
	cancel := newCanceller(ctx)
	for _, seg := range t.Segments() {
		live := seg.Live()
		for i := 0; i < seg.Len(); i++ {
			if live[i] == 0 {
				continue
			}
			if err := cancel.tick(); err != nil {
				return err
			}
			r := srcRow{seg: seg, i: i, ncols: ncols, rowid: seg.Base() + int64(i)}
			if where != nil {
				ok, err := passes(where, &r)
				if err != nil {
					return err
				}
				if !ok {
					continue
				}
			}
			if err := fn(&r); err != nil {
				return err
			}
		}
	}
	return nil
}

func passes(cond expr, env rowEnv) (bool, error) {
	v, err := cond.eval(env)
	if err != nil {
		return false, err
	}
	b, null, err := truth(v, query.Pos{})
	return b && !null, err
}

// finish runs the output pipeline over source rows.
func finish(ctx context.Context, o *outputSpec, rows []srcRow) ([][]types.Value, error) {
	return finishGrouped(ctx, o, rows, nil)
}

// finishGrouped is finish; when pre is set, the rows were already grouped
// into it as they were scanned.
func finishGrouped(ctx context.Context, o *outputSpec, rows []srcRow, pre *grouper) ([][]types.Value, error) {
	type outRow struct {
		vals []types.Value
		keys []types.Value
	}
	if stop := earlyStop(o); stop >= 0 && stop < int64(len(rows)) {
		rows = rows[:stop] // rows come in output order: the rest is cut by LIMIT
	}
	var res []outRow
	cancel := newCanceller(ctx)
	emit := func(env rowEnv) error {
		if err := cancel.tick(); err != nil {
			return err
		}
		vals := make([]types.Value, len(o.items))
		for i, it := range o.items {
			v, err := it.eval(env)
			if err != nil {
				return err
			}
			vals[i] = v
		}
		var keys []types.Value
		if len(o.order) > 0 {
			keys = make([]types.Value, len(o.order))
			for i, k := range o.order {
				if k.out >= 0 {
					keys[i] = vals[k.out]
					continue
				}
				v, err := k.e.eval(env)
				if err != nil {
					return err
				}
				keys[i] = v
			}
		}
		res = append(res, outRow{vals, keys})
		return nil
	}
	if !o.grouped {
		for i := range rows {
			if err := emit(&rows[i]); err != nil {
				return nil, err
			}
		}
	} else {
		g := pre
		if g == nil {
			g = newGrouper(o)
			for i := range rows {
				if err := cancel.tick(); err != nil {
					return nil, err
				}
				if err := g.add(&rows[i]); err != nil {
					return nil, err
				}
			}
		}
		groups, err := g.rows()
		if err != nil {
			return nil, err
		}
		for _, g := range groups {
			if o.having != nil {
				ok, err := passes(o.having, g)
				if err != nil {
					return nil, err
				}
				if !ok {
					continue
				}
			}
			if err := emit(g); err != nil {
				return nil, err
			}
		}
	}
	if len(o.order) > 0 {
		sort.SliceStable(res, func(a, b int) bool {
			for i, k := range o.order {
				c := orderCompare(res[a].keys[i], res[b].keys[i])
				if c != 0 {
					return (c < 0) != k.desc
				}
			}
			return false
		})
	}
	if o.offset > 0 {
		if o.offset >= int64(len(res)) {
			res = nil
		} else {
			res = res[o.offset:]
		}
	}
	if o.limit >= 0 && int64(len(res)) > o.limit {
		res = res[:o.limit]
	}
	out := make([][]types.Value, len(res))
	for i, r := range res {
		out[i] = r.vals
	}
	return out, nil
}

// grouper evaluates GROUP BY and the aggregates one source row at a time,
// so a scan never has to hold its rows; groups keep the order in which they
// first appear.
type grouper struct {
	o      *outputSpec
	index  map[string]int
	groups []*group
	kb     strings.Builder
}

type group struct {
	keys []types.Value
	aggs []*aggState
}

func newGrouper(o *outputSpec) *grouper {
	g := &grouper{o: o, index: map[string]int{}}
	if len(o.groupBy) == 0 {
		g.newGroup(nil) // aggregates without GROUP BY: one group, even over no rows
	}
	return g
}

func (g *grouper) newGroup(keys []types.Value) *group {
	gr := &group{keys: keys}
	for _, a := range g.o.group.aggs {
		gr.aggs = append(gr.aggs, newAggState(a))
	}
	g.groups = append(g.groups, gr)
	return gr
}

func (g *grouper) add(env *srcRow) error {
	var gr *group
	if len(g.o.groupBy) == 0 {
		gr = g.groups[0]
	} else {
		keys := make([]types.Value, len(g.o.groupBy))
		g.kb.Reset()
		for j, ge := range g.o.groupBy {
			v, err := ge.eval(env)
			if err != nil {
				return err
			}
			keys[j] = v
			g.kb.WriteString(v.K.String())
			g.kb.WriteByte(0)
			g.kb.WriteString(v.String())
			g.kb.WriteByte(0)
		}
		k := g.kb.String()
		if gi, ok := g.index[k]; ok {
			gr = g.groups[gi]
		} else {
			g.index[k] = len(g.groups)
			gr = g.newGroup(keys)
		}
	}
	for _, a := range gr.aggs {
		if err := a.add(env); err != nil {
			return err
		}
	}
	return nil
}

// rows returns one row per group: its keys, then its aggregates.
func (g *grouper) rows() ([]flatRow, error) {
	out := make([]flatRow, len(g.groups))
	for i, gr := range g.groups {
		r := make(flatRow, 0, len(gr.keys)+len(gr.aggs))
		r = append(r, gr.keys...)
		for _, a := range gr.aggs {
			v, err := a.result()
			if err != nil {
				return nil, err
			}
			r = append(r, v)
		}
		out[i] = r
	}
	return out, nil
}
