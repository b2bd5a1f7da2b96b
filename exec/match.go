package exec

import (
	"context"
	"math"
	"strings"
	"sync"

	"github.com/softdb/softdb/attention"
	"github.com/softdb/softdb/query"
	"github.com/softdb/softdb/storage"
	"github.com/softdb/softdb/types"
)

// matchPlan is the matching step of HARD/SOFT SELECT.
type matchPlan struct {
	mode    query.SelectMode
	col     int // the match column
	colName string
	table   string // for errors
	dim     int
	metric  attention.Metric
	temp    float64 // SOFT: T (0 = all weight on the best row)
	tempSrc string  // TEMPERATURE as written, or "√d" by default
	top     int     // SOFT TOP k; 0 = all rows
	k       int     // HARD: rows ranked (LIMIT + OFFSET; LIMIT defaults to 1)
	skip    int     // HARD: of those, the first skip are not returned (OFFSET)

	// The query: exactly one of vec, sub, single is set.
	vec    []float32
	sub    *selectPlan // batch: one query per row (qrow = its rowid)
	single expr        // a parameter or constant expression

	ncols      int  // columns of the table
	rowsNeeded int  // row form: only the best rowsNeeded rows are used (-1: all)
	unordered  bool // row form: the rows' order cannot matter (aggregates only)
	blend      bool // SOFT blend form
	blendItems []blendItem
	learn      *learnPlan // HEADS, BACKWARD (backward.go)
}

// blendItem is one selected item of the blend form.
type blendItem struct {
	e        expr
	vecCol   int  // ≥ 0: a plain VECTOR column (the fused kernel path)
	floatCol int  // ≥ 0: a plain FLOAT or INT column (fused too, in float64)
	constant bool // names no table column: evaluated once per query
	t        types.Type
}

func planMatch(snap *storage.Snapshot, s *query.Select, sc *scope, params []types.Value) (*matchPlan, error) {
	schema := sc.schema
	m := &matchPlan{mode: s.Mode, col: -1, k: 1, ncols: len(schema.Columns), rowsNeeded: -1}
	if s.Match.On != nil {
		i := schema.ColumnIndex(s.Match.On.Name)
		if i < 0 {
			return nil, errorf(ErrNotFound, s.Match.On.At, "column %q does not exist in table %q", s.Match.On.Name, schema.Name)
		}
		if schema.Columns[i].Type.Kind != types.Vector {
			return nil, errorf(ErrType, s.Match.On.At, "MATCH ON %s: column is %s, not a VECTOR", schema.Columns[i].Name, schema.Columns[i].Type)
		}
		m.col = i
	} else {
		m.col = matchColumn(schema)
		if m.col < 0 {
			return nil, errorf(ErrType, s.Match.At, "table %q has no VECTOR column to match", schema.Name)
		}
	}
	c := schema.Columns[m.col]
	m.colName, m.dim, m.table = c.Name, c.Type.Dim, schema.Name
	m.metric = metricOf(s.Match.Metric)

	// Temperature: a constant expression of numbers and d.
	m.tempSrc = "√d"
	m.temp = math.Sqrt(float64(m.dim))
	if s.Match.Temperature != nil {
		if s.Mode == query.Hard {
			return nil, errorf(ErrValue, s.Match.Temperature.Position(), "TEMPERATURE is only valid in SOFT SELECT")
		}
		t, err := foldTemperature(snap, s.Match.Temperature, params, m.dim) // temperature.go
		if err != nil {
			return nil, err
		}
		m.temp = t
		m.tempSrc = query.Format(s.Match.Temperature)
	}
	if s.Match.Top != nil {
		if s.Mode == query.Hard {
			return nil, errorf(ErrValue, s.Match.Top.Position(), "TOP is only valid in SOFT SELECT (HARD SELECT takes LIMIT k)")
		}
		n, err := constInt(s.Match.Top, params, "TOP")
		if err != nil {
			return nil, err
		}
		if n < 1 {
			return nil, errorf(ErrValue, s.Match.Top.Position(), "TOP must be at least 1, got %d", n)
		}
		m.top = int(min(n, math.MaxInt32))
	}
	if s.Mode == query.Hard && s.Limit != nil {
		n, err := constInt(s.Limit, params, "LIMIT")
		if err != nil {
			return nil, err
		}
		m.k = int(min(n, math.MaxInt32))
	}

	// The query vector(s).
	switch q := s.Match.Query.(type) {
	case *query.VectorLit:
		if len(q.Values) != m.dim {
			return nil, dimError(q.At, len(q.Values), schema.Name, c)
		}
		m.vec = q.Values
	case *query.Subquery:
		if q.Select.Mode != query.Plain {
			return nil, errorf(ErrUnsupported, q.At, "the query subquery must be a plain SELECT")
		}
		sub, err := planSelect(snap, q.Select, params)
		if err != nil {
			return nil, err
		}
		if len(sub.out.items) != 1 || sub.out.grouped {
			return nil, errorf(ErrValue, q.At, "the query subquery must select exactly one VECTOR column per row, got %d items", len(sub.out.items))
		}
		if t := sub.out.types[0]; t.Kind != types.Vector && t.Kind != types.Null && t.Kind != types.Text {
			return nil, errorf(ErrType, q.At, "the query subquery selects %s, not a VECTOR", t)
		} else if t.Kind == types.Vector && t.Dim != m.dim {
			return nil, dimError(q.At, t.Dim, schema.Name, c)
		}
		m.sub = sub
	default:
		qs := &scope{params: params, aggErr: "in MATCH", snap: snap}
		e, err := qs.bind(s.Match.Query)
		if err != nil {
			return nil, err
		}
		m.single = e
	}
	lp, err := planLearned(s, m, schema, params)
	m.learn, sc.learn = lp, lp
	return m, err
}

func dimError(pos query.Pos, got int, table string, c storage.Column) error {
	return errorf(ErrDimension, pos, "query vector has dimension %d, but %s.%s is %s (dimension %d)", got, table, c.Name, c.Type, c.Type.Dim)
}

// matchColumn is the column named key, else the first VECTOR column.
func matchColumn(s *storage.Schema) int {
	first := -1
	for i, c := range s.Columns {
		if c.Type.Kind != types.Vector {
			continue
		}
		if strings.EqualFold(c.Name, "key") {
			return i
		}
		if first < 0 {
			first = i
		}
	}
	return first
}

// planBlend decides between the blend form and the row form (SPEC §4).
func (m *matchPlan) planBlend(s *query.Select, out *outputSpec, sc *scope) error {
	if out.grouped || len(s.Items) == 0 {
		return nil
	}
	for _, it := range s.Items {
		if it.Star || mentions(it.Expr, "score", "weight", "rowid") {
			return nil
		}
	}
	items := make([]blendItem, len(out.items))
	for i, e := range out.items {
		t := e.typ()
		switch t.Kind {
		case types.Vector, types.Float, types.Int:
		default:
			return nil
		}
		b := blendItem{e: e, vecCol: -1, floatCol: -1, t: t}
		if c, ok := e.(*colE); ok && c.slot < sc.ncols() {
			if t.Kind == types.Vector {
				b.vecCol = c.slot
			} else {
				b.floatCol = c.slot
			}
		}
		b.constant = !mentionsTable(s.Items[i].Expr, sc.schema)
		if t.Kind == types.Int && !b.constant {
			b.t = types.Type{Kind: types.Float} // a blend of integers is a FLOAT
			out.types[i] = b.t
		}
		items[i] = b
	}
	m.blend = true
	m.blendItems = items
	return nil
}

// queryVec is one query of a (possibly batched) match.
type queryVec struct {
	v    []float32 // nil: NULL query, which matches no row
	qrow types.Value
}

func (m *matchPlan) queries(ctx context.Context, schema *storage.Schema) ([]queryVec, error) {
	c := schema.Columns[m.col]
	check := func(v types.Value, pos query.Pos) ([]float32, error) {
		switch v.K {
		case types.Null:
			return nil, nil
		case types.Text:
			vec, err := types.ParseVector(v.S)
			if err != nil {
				return nil, errorf(ErrValue, pos, "query vector: %v", err)
			}
			v = types.VectorValue(vec)
		case types.Vector:
		default:
			return nil, errorf(ErrType, pos, "the query of MATCH must be a VECTOR, got %s", kindName(v))
		}
		if len(v.V) != m.dim {
			return nil, dimError(pos, len(v.V), schema.Name, c)
		}
		for _, x := range v.V {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return nil, errorf(ErrValue, pos, "query vector contains NaN or Inf")
			}
		}
		return v.V, nil
	}
	switch {
	case m.vec != nil:
		return []queryVec{{v: m.vec}}, nil
	case m.single != nil:
		v, err := m.single.eval(flatRow(nil))
		if err != nil {
			return nil, err
		}
		vec, err := check(v, query.Pos{})
		if err != nil {
			return nil, err
		}
		return []queryVec{{v: vec}}, nil
	}
	// A batch: run the subquery, keeping each row's rowid as qrow.
	sub := m.sub
	var rows []srcRow
	if sub.table == nil {
		rows = []srcRow{{}}
	} else {
		var err error
		rows, err = scanRows(ctx, sub.table, sub.where, -1)
		if err != nil {
			return nil, err
		}
	}
	// Apply the subquery's ORDER BY / LIMIT by running its pipeline with the
	// rowid appended as an extra item.
	o := *sub.out
	o.items = append(append([]expr(nil), o.items...), &rowidE{})
	vals, err := finish(ctx, &o, rows)
	if err != nil {
		return nil, err
	}
	out := make([]queryVec, len(vals))
	for i, r := range vals {
		vec, err := check(r[0], query.Pos{})
		if err != nil {
			return nil, err
		}
		out[i] = queryVec{v: vec, qrow: r[1]}
	}
	return out, nil
}

// rowidE yields the rowid of a source row (NULL without FROM).
type rowidE struct{}

func (rowidE) typ() types.Type { return types.Type{Kind: types.Int} }
func (rowidE) String() string  { return "rowid" }
func (rowidE) eval(env rowEnv) (types.Value, error) {
	if r, ok := env.(*srcRow); ok && r.seg != nil {
		return types.IntValue(r.rowid), nil
	}
	return types.Value{}, nil
}

// gatherPool recycles chunkKeys' matrices (up to a quarter of a chunk's
// keys, 2 MiB at d = 128): allocating and clearing a fresh one per work
// item made one query's gather slower than scoring the chunk in place.
var gatherPool sync.Pool // of *[]float32

// chunkRows bounds a chunk so that a scan can be cancelled promptly and
// split across cores; 16 Ki rows × 128 floats = 8 MiB of keys.
const chunkRows = 16384

// runMatch executes HARD/SOFT SELECT: once per query, results in query order.
func runMatch(ctx context.Context, p *selectPlan) ([][]types.Value, error) {
	m := p.match
	qs, err := p.batchQueries(ctx)
	if err != nil {
		return nil, err
	}
	if err := p.checkMemory(p.memLimit, int64(len(qs))); err != nil {
		return nil, err
	}
	if m.mode == query.Hard && m.k == m.skip { // LIMIT 0
		return noMatch(ctx, p, qs)
	}
	chunks, err := m.chunks(ctx, p.table, p.where)
	if err != nil {
		return nil, err
	}
	if m.blend && m.fusable() {
		if res, err := m.runFusedBlend(ctx, chunks, qs); err != errNotFused {
			return res, err
		}
	}
	// Queries are ranked (HARD, TOP) or scored a block at a time, so that
	// a batch reads the keys once per block rather than once per query.
	var out [][]types.Value
	k := m.topK()
	step := scoreBatchQueries(chunkOffsets(chunks)[len(chunks)])
	if k > 0 {
		step = topBatchQueries(len(chunks), k)
	}
	for lo := 0; lo < len(qs); lo += step {
		hi := min(lo+step, len(qs))
		var pre blockResult
		if k > 0 {
			pre.best, err = m.topBatch(ctx, chunks, qs[lo:hi], k)
		} else {
			pre.scores, err = m.scoreBatch(ctx, chunks, qs[lo:hi])
			if err == nil && m.rowsNeeded >= 0 {
				pre.ranked, err = m.rankBlock(ctx, chunks, qs[lo:hi], pre.scores)
			}
		}
		if err != nil {
			return nil, err
		}
		for i := lo; i < hi; i++ {
			res, err := m.runOne(ctx, p, chunks, qs[i], pre, i-lo)
			if err != nil {
				return nil, err
			}
			out = append(out, res...)
		}
	}
	return out, nil
}

// blockResult is what a block of queries computed at once: their best
// rows (HARD, TOP) or else the scores of every row, in chunk order.
type blockResult struct {
	best   [][]attention.Scored
	scores [][]float32
	ranked [][]srcRow // row form with rowsNeeded: each query's rows (bestOfScores)
}

// runOne produces the result rows of query q, the bi-th of its block.
func (m *matchPlan) runOne(ctx context.Context, p *selectPlan, chunks []chunk, q queryVec, pre blockResult, bi int) ([][]types.Value, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var rows []srcRow
	var err error
	switch {
	case pre.best != nil:
		rows, err = m.order(ctx, m.bestRows(chunks, q, pre.best[bi]))
	case pre.ranked != nil:
		rows = pre.ranked[bi]
	default:
		if rows, err = m.scoredRows(ctx, chunks, q, pre.scores[bi]); err == nil {
			rows, err = m.order(ctx, rows)
		}
	}
	if err != nil {
		return nil, err
	}
	if m.mode == query.Hard {
		rows = rows[min(m.skip, len(rows)):] // OFFSET: a page of the ranking
	}
	if m.learn != nil {
		return m.learn.finishRows(ctx, m, p, rows, q)
	}
	if m.blend {
		r, err := m.blendRows(ctx, rows, q)
		if err != nil {
			return nil, err
		}
		return [][]types.Value{r}, nil
	}
	return finish(ctx, p.out, rows)
}
