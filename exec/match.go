package exec

import (
	"bytes"
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

// chunk is a run of rows of one segment scanned as a unit.
type chunk struct {
	seg        *storage.Segment
	start, end int
	mask       []byte // live, key not NULL, WHERE true

	// cand lists the candidate rows (offsets from start) when they are
	// few enough to be gathered and scored alone (see sparseRows); nil
	// when the chunk is scored in place under mask.
	cand []int64
}

// width is the number of rows the kernels score in c: its candidates when
// they are gathered, else all its rows.
func (c *chunk) width() int {
	if c.cand != nil {
		return len(c.cand)
	}
	return c.end - c.start
}

// sparseRows lists the rows set in mask when they are fewer than a quarter
// of them, and returns nil otherwise; such a chunk's candidates are
// gathered (chunkKeys) and scored alone. A batch, bound by arithmetic,
// saves in proportion to the rows left out. One query is bound by memory
// bandwidth: gathering reads each candidate key twice (copy, then score)
// but skips the others, and measured on 16 Ki random rows at d = 128 and
// 768 it breaks even near 40% candidates; a quarter keeps a margin (it
// takes 0.8× the time of scoring in place there, 0.3× at 10%). Denser
// chunks are scored in place, where the mask costs nothing.
func sparseRows(mask []byte) []int64 {
	n := len(mask) - bytes.Count(mask, []byte{0}) // vectorised
	if n >= (len(mask)+3)/4 {
		return nil
	}
	rows := make([]int64, 0, n)
	for i, b := range mask {
		if b != 0 {
			rows = append(rows, int64(i))
		}
	}
	return rows
}

// chunkKeys returns the key rows of c for the kernels, with the mask to
// apply to them: the chunk's keys in place under c.mask, or, when c.cand
// is set, the candidate rows gathered into a contiguous matrix (row j is
// row c.cand[j] of the chunk) and no mask. A row's score does not depend
// on where it sits among the keys, so gathered rows score exactly as in
// place. Call release once the kernels are done with the keys.
func (m *matchPlan) chunkKeys(c *chunk) (keys []float32, mask []byte, release func()) {
	d := m.dim
	keys = c.seg.Vectors(m.col)[c.start*d : c.end*d]
	if c.cand == nil {
		return keys, c.mask, func() {}
	}
	n := len(c.cand) * d
	buf, _ := gatherPool.Get().(*[]float32)
	if buf == nil || cap(*buf) < n {
		b := make([]float32, n)
		buf = &b
	}
	g := (*buf)[:n]
	for j, i := range c.cand {
		copy(g[j*d:(j+1)*d], keys[int(i)*d:])
	}
	return g, nil, func() { gatherPool.Put(buf) }
}

// gatherPool recycles chunkKeys' matrices (up to a quarter of a chunk's
// keys, 2 MiB at d = 128): allocating and clearing a fresh one per work
// item made one query's gather slower than scoring the chunk in place.
var gatherPool sync.Pool // of *[]float32

// chunkRows bounds a chunk so that a scan can be cancelled promptly and
// split across cores; 16 Ki rows × 128 floats = 8 MiB of keys.
const chunkRows = 16384

// chunks lists the table's rows in rowid order with their candidate masks.
func (m *matchPlan) chunks(ctx context.Context, t *storage.Table, where expr) ([]chunk, error) {
	var out []chunk
	ncols := len(t.Schema().Columns)
	plain := where == nil // every chunk's mask is its live flags
	for _, seg := range t.Segments() {
		plain = plain && seg.Nulls(m.col) == nil
		for start := 0; start < seg.Len(); start += chunkRows {
			end := min(start+chunkRows, seg.Len())
			out = append(out, chunk{seg: seg, start: start, end: end})
		}
	}
	if plain {
		// About 2 µs a chunk, done serially: waking another core took
		// ~150 µs on average on a 2-vCPU VM, and made this step 41 µs
		// (serial: 14 µs) of a 2.7 ms HARD SELECT over 10⁵ rows.
		for i := range out {
			c := &out[i]
			c.setMask(c.seg.Live()[c.start:c.end])
		}
		return out, ctx.Err()
	}
	err := parallel(ctx, len(out), func(ci int) error {
		c := &out[ci]
		live := c.seg.Live()[c.start:c.end]
		nulls := c.seg.Nulls(m.col)
		if nulls == nil && where == nil {
			c.setMask(live)
			return nil
		}
		mask := make([]byte, c.end-c.start)
		copy(mask, live)
		if nulls != nil {
			for i := range mask {
				if nulls[c.start+i] != 0 {
					mask[i] = 0
				}
			}
		}
		if where != nil {
			r := srcRow{seg: c.seg, ncols: ncols}
			cancel := newCanceller(ctx)
			for i := range mask {
				if mask[i] == 0 {
					continue
				}
				if err := cancel.tick(); err != nil {
					return err
				}
				r.i = c.start + i
				r.rowid = c.seg.Base() + int64(r.i)
				ok, err := passes(where, &r)
				if err != nil {
					return err
				}
				if !ok {
					mask[i] = 0
				}
			}
		}
		c.setMask(mask)
		return nil
	})
	return out, err
}

// setMask makes mask (live, key not NULL, WHERE true) c's candidates.
func (c *chunk) setMask(mask []byte) {
	c.mask = mask
	c.cand = sparseRows(mask)
}

// runMatch executes HARD/SOFT SELECT: once per query, results in query order.
func runMatch(ctx context.Context, p *selectPlan) ([][]types.Value, error) {
	m := p.match
	schema := p.table.Schema()
	qs, err := m.queries(ctx, schema)
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

// topK is how many best rows a query keeps: HARD's k, SOFT's TOP, or 0
// (every row takes part).
func (m *matchPlan) topK() int {
	switch {
	case m.mode == query.Hard:
		return m.k
	case m.top > 0:
		return m.top
	}
	return 0
}

// topBatchQueries is how many queries are ranked together: as
// many as keep the per-chunk heaps of one round within about 64 MiB (a
// pair is 16 bytes), at most 4096 and at least one.
func topBatchQueries(nchunks, k int) int {
	const budget = 64 << 20
	per := int64(nchunks) * int64(min(k, 1<<16)) * 16
	return int(max(1, min(4096, budget/max(per, 1))))
}

// scoreBatchQueries is how many queries are scored together:
// as many as keep their scores of all rows within about 64 MiB, at most
// 4096 and at least one.
func scoreBatchQueries(rows int) int {
	const budget = 64 << 20
	return int(max(1, min(4096, budget/max(int64(rows)*4, 1))))
}

// chunkOffsets returns the start of each chunk's scores in a score vector
// over all chunks (chunk.width of them each); the last entry is the total.
func chunkOffsets(chunks []chunk) []int {
	offs := make([]int, len(chunks)+1)
	for ci := range chunks {
		offs[ci+1] = offs[ci] + chunks[ci].width()
	}
	return offs
}

// scoreBatch scores the rows of every chunk (chunkKeys: all of them, or
// the gathered candidates) for a block of queries with
// attention.ScoreBatch, one chunk × up to queryBlock queries per work
// item (one query alone is read in memory order, as ScoreRows). It
// returns each query's scores in chunk order, chunkOffsets apart (nil for
// a NULL query).
func (m *matchPlan) scoreBatch(ctx context.Context, chunks []chunk, qs []queryVec) ([][]float32, error) {
	d := m.dim
	live, qmat, qnorms := m.queryMatrix(qs)
	offs := chunkOffsets(chunks)
	total := offs[len(chunks)]
	buf := make([]float32, len(live)*total)
	nblocks := (len(live) + queryBlock - 1) / queryBlock
	err := parallel(ctx, len(chunks)*nblocks, func(item int) error {
		ci, qb := item/nblocks, item%nblocks
		c := &chunks[ci]
		lo, hi := qb*queryBlock, min((qb+1)*queryBlock, len(live))
		keys, _, release := m.chunkKeys(c)
		defer release()
		// A score beyond float32's range is ±Inf; scoredRows fails on it
		// if its row is a candidate.
		_ = attention.ScoreBatch(buf[lo*total+offs[ci]:], total, m.metric, qmat[lo*d:hi*d], qnorms[lo:hi], keys, d)
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([][]float32, len(qs))
	for j, i := range live {
		out[i] = buf[j*total : (j+1)*total]
	}
	return out, nil
}

// topBatch ranks the rows for a block of queries at once: each work item
// is one chunk × up to queryBlock queries through attention.TopKBatch, so
// a chunk's keys are read from memory once per block of queries instead
// of once per query. Per-chunk heaps are merged in chunk order. It returns
// each query's best rows (rowids, best first; nil for a NULL query).
func (m *matchPlan) topBatch(ctx context.Context, chunks []chunk, qs []queryVec, k int) ([][]attention.Scored, error) {
	d := m.dim
	live, qmat, qnorms := m.queryMatrix(qs)
	nblocks := (len(live) + queryBlock - 1) / queryBlock
	partial := make([][]*attention.TopK, len(chunks))
	for ci := range partial {
		partial[ci] = make([]*attention.TopK, len(live))
	}
	err := parallel(ctx, len(chunks)*nblocks, func(item int) error {
		ci, qb := item/nblocks, item%nblocks
		c := &chunks[ci]
		lo, hi := qb*queryBlock, min((qb+1)*queryBlock, len(live))
		tops := partial[ci][lo:hi]
		for j := range tops {
			tops[j] = attention.NewTopK(k)
		}
		// Gathered rows are ranked under their chunk offsets (c.cand).
		keys, mask, release := m.chunkKeys(c)
		defer release()
		attention.TopKBatch(tops, m.metric, qmat[lo*d:hi*d], qnorms[lo:hi], keys, d, c.cand, mask)
		for _, t := range tops {
			if err := t.Err(); err != nil {
				return m.kernelErr(err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([][]attention.Scored, len(qs))
	for j, i := range live {
		all := attention.NewTopK(k)
		for ci, c := range chunks {
			base := c.seg.Base() + int64(c.start)
			for _, s := range partial[ci][j].Sorted() {
				all.Push(s.Score, base+s.ID)
			}
			partial[ci][j] = nil
		}
		out[i] = all.Sorted()
	}
	return out, nil
}

// bestRows turns a query's ranked rows (topBatch) into source rows, best
// first.
func (m *matchPlan) bestRows(chunks []chunk, q queryVec, best []attention.Scored) []srcRow {
	rows := make([]srcRow, 0, len(best))
	for _, s := range best {
		seg, i := locate(chunks, s.ID)
		rows = append(rows, srcRow{seg: seg, i: i, ncols: m.ncols, rowid: s.ID, score: s.Score, qrow: q.qrow})
	}
	return rows
}

// order sets the weights of a query's candidate rows and returns the rows
// that take part, ordered by weight (HARD: by score) descending, then
// rowid.
func (m *matchPlan) order(ctx context.Context, rows []srcRow) ([]srcRow, error) {
	if m.mode == query.Hard {
		for i := range rows {
			rows[i].weight = 0
		}
		if len(rows) > 0 {
			rows[0].weight = 1
		}
		return rows, nil
	}
	m.weigh(rows)
	// Weights grow with scores, so "weight desc, then rowid" is "score desc,
	// then rowid"; rows are in rowid order, so an index breaks ties alike.
	if need := m.rowsNeeded; need >= 0 && need < len(rows) {
		top := attention.NewTopK(need)
		for i := range rows {
			top.Push(rows[i].score, int64(i))
		}
		kept := make([]srcRow, 0, need)
		for _, s := range top.Sorted() {
			kept = append(kept, rows[s.ID])
		}
		return kept, ctx.Err()
	}
	if !m.unordered {
		sortByWeight(rows)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return rows, nil
}

// weigh sets the softmax weights (max-subtracted, in float64). T = 0 puts
// all weight on the best row, the lowest rowid among equals.
func (m *matchPlan) weigh(rows []srcRow) {
	if len(rows) == 0 {
		return
	}
	best := 0
	for i := range rows {
		if rows[i].score > rows[best].score || rows[i].score == rows[best].score && rows[i].rowid < rows[best].rowid {
			best = i
		}
	}
	if m.temp == 0 {
		for i := range rows {
			rows[i].weight = 0
		}
		rows[best].weight = 1
		return
	}
	invT := 1 / m.temp // +Inf for a subnormal T: attention.Weight takes it
	top := rows[best].score
	sum := 0.0
	for i := range rows {
		w := attention.Weight(rows[i].score, top, invT)
		rows[i].weight = w
		sum += w
	}
	for i := range rows {
		rows[i].weight /= sum
	}
}

// blendRows computes the blend form from weighted candidates, renormalising
// each item over its non-NULL values (SPEC §4).
func (m *matchPlan) blendRows(ctx context.Context, rows []srcRow, q queryVec) ([]types.Value, error) {
	cancel := newCanceller(ctx)
	out := make([]types.Value, len(m.blendItems))
	for bi, b := range m.blendItems {
		if b.constant {
			v, err := b.e.eval(flatRow(qrowEnv(m.ncols, q.qrow)))
			if err != nil {
				return nil, err
			}
			out[bi] = v
			continue
		}
		var sumW float64
		var acc []float64
		var accF float64
		seen := false
		for i := range rows {
			if err := cancel.tick(); err != nil {
				return nil, err
			}
			r := &rows[i]
			v, err := b.e.eval(r)
			if err != nil {
				return nil, err
			}
			if v.IsNull() {
				continue
			}
			w := r.weight
			if m.temp == 0 {
				// All weight on the best non-NULL row: rows are sorted best first.
				if seen {
					break
				}
				w = 1
			}
			seen = true
			sumW += w
			switch v.K {
			case types.Vector:
				if acc == nil {
					acc = make([]float64, len(v.V))
				}
				if len(v.V) != len(acc) {
					return nil, errorf(ErrDimension, query.Pos{}, "blended vectors have different dimensions (%d and %d)", len(acc), len(v.V))
				}
				for j, x := range v.V {
					acc[j] += w * float64(x)
				}
			default:
				f, ok := v.AsFloat()
				if !ok {
					return nil, errorf(ErrType, query.Pos{}, "cannot blend %s", kindName(v))
				}
				accF += w * f
			}
		}
		if !seen || sumW == 0 {
			continue // NULL over zero rows
		}
		if acc != nil {
			vec := make([]float32, len(acc))
			for j, a := range acc {
				vec[j] = float32(a / sumW)
			}
			out[bi] = types.VectorValue(vec)
		} else {
			f, err := finite(query.Pos{}, accF/sumW, "the blend")
			if err != nil {
				return nil, err
			}
			out[bi] = f
		}
	}
	return out, nil
}
