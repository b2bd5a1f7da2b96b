package exec

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/softdb/softdb/ivf"
	"github.com/softdb/softdb/query"
	"github.com/softdb/softdb/storage"
	"github.com/softdb/softdb/types"
)

// exactTau is the softmax mass, as a fraction of the mass scored, that an
// exact SOFT SELECT through an index may leave out: it moves a blended
// component by at most 2·exactTau·max|v| = 2e-7·max|v| (docs/indexes.md,
// §3), a fiftieth of SPEC §4's 1e-5, leaving the rest to float32 rounding.
const exactTau = 1e-7

// indexCostRatio: the index is chosen when it is estimated to read at
// most this fraction of the rows. A row read through a list costs more
// than in the scan (a gather by rowid, a WHERE test of its own), measured
// at about 1.5× on 10⁵ rows at d = 128, and the bounds cost L·d; half
// the rows keeps the index path from ever being slower than the scan by
// more than the bounds' cost.
const indexCostRatio = 0.5

// indexMinRows: a table of fewer live rows is scanned without consulting
// its index. Scanning 4,096 rows of d = 128 reads 2 MiB, about 0.1 ms;
// the bounds, the probe and the search's own fixed costs are a sizeable
// part of that, so below it the index cannot pay for its decision.
const indexMinRows = 4096

// indexMinRowsPerList: nor is a table of fewer rows than this many per
// list: the bounds alone read L·d floats, and the scan N·d.
const indexMinRowsPerList = 16

// refineRowsPerBlock: the estimate is refined with the blocks' bounds
// only while there is at most one block for this many rows. A block's
// bound costs about what scoring two rows of d = 128 does (its centre is
// a row, plus the bound's arithmetic and the sort), so refining stays
// within ~2% of the scan it may avoid.
const refineRowsPerBlock = 128

// Kinds of index search.
const (
	ixHard = "branch and bound over lists (exact top-k)"
	ixSoft = "softmax with proven mass bound"
)

// indexPlan is the planner's use of an index for a match, and what the
// run did (EXPLAIN ANALYZE).
type indexPlan struct {
	ix     *storage.Index
	kind   string
	k      int     // ixHard: rows ranked
	tau    float64 // ixSoft: mass fraction that may be left out
	within float64 // WITHIN ERROR ε (0: exact)

	// Filled when the statement runs.
	used       bool
	decision   string
	stats      ivf.Stats
	tView      time.Duration
	tOut       time.Duration
	bound      float64 // the error proven (SPEC §8 error_bound)
	scanBytes  int64
	mode       string     // SET index_scan: "" or "auto", "on", "off"
	wantBlocks bool       // the decision refined its estimate with blocks
	errBound   *float64   // where error_bound reads bound
	batch      []queryVec // MATCH (SELECT …)'s queries, kept for the scan when not one
}

// planWithin binds WITHIN ERROR ε: a number in (0, 1).
func planWithin(s *query.Select, params []types.Value) (float64, error) {
	if s.Match == nil || s.Match.Within == nil {
		return 0, nil
	}
	e := s.Match.Within
	if s.Mode != query.Soft {
		return 0, errorf(ErrValue, e.Position(), "WITHIN ERROR applies to SOFT SELECT only; HARD SELECT is always exact")
	}
	sc := &scope{params: params, aggErr: "in WITHIN ERROR"}
	b, err := sc.bind(e)
	if err != nil {
		return 0, err
	}
	v, err := b.eval(flatRow(nil))
	if err != nil {
		return 0, err
	}
	f, ok := v.AsFloat()
	if !ok || math.IsNaN(f) || f <= 0 || f >= 1 {
		return 0, errorf(ErrValue, e.Position(), "WITHIN ERROR ε must be a number with 0 < ε < 1, got %s", v.String())
	}
	return f, nil
}

// planIndex chooses an index for p's match when one can answer it exactly
// (or within ε); the run decides by cost whether to use it. When there is
// an index on the column but the statement cannot use it, p.noIndex says
// why (EXPLAIN ANALYZE shows it).
func planIndex(p *selectPlan, within float64, errBound *float64) {
	m := p.match
	if m == nil {
		return
	}
	var ix *storage.Index
	for _, x := range p.table.Indexes() {
		if strings.EqualFold(x.Column, m.colName) {
			ix = x
			break
		}
	}
	if ix == nil {
		return
	}
	skip := func(why string) { p.noIndex = "index " + ix.Name + " not used: " + why }
	if m.learn != nil {
		skip("HEADS and BACKWARD need every row's weight")
		return
	}
	ip := &indexPlan{ix: ix, within: within, errBound: errBound}
	switch {
	case m.mode == query.Hard:
		ip.kind, ip.k = ixHard, m.k
	case m.top > 0:
		ip.kind, ip.k = ixHard, m.top
	case m.temp == 0:
		ip.kind, ip.k = ixHard, 1
	case math.IsInf(1/m.temp, 1):
		skip("at a subnormal temperature every weight is computed")
		return
	case m.blend && plainBlend(p):
		ip.kind, ip.tau = ixSoft, exactTau
		if within > 0 {
			ip.tau = within / 2
		}
	case !m.blend && within > 0:
		ip.kind, ip.tau = ixSoft, within/2
	case m.blend:
		skip("a blended item is an expression or has NULLs, so one mass bound does not cover it")
		return
	default:
		skip("the row form returns every row's weight; add WITHIN ERROR ε, TOP k or LIMIT")
		return
	}
	p.index = ip
}

// plainBlend reports whether every blended item is a constant or a plain
// column without NULLs, so that the mass bound applies to each item alike.
func plainBlend(p *selectPlan) bool {
	for _, b := range p.match.blendItems {
		if b.constant {
			continue
		}
		col := max(b.vecCol, b.floatCol)
		if col < 0 {
			return false
		}
		for _, seg := range p.table.Segments() {
			if seg.Nulls(col) != nil {
				return false
			}
		}
	}
	return true
}

// node prints the index choice under the match in EXPLAIN.
func (ip *indexPlan) node(scan *planNode) *planNode {
	label := fmt.Sprintf("Index %s USING ivf (lists = %d, codes = %s): %s", ip.ix.Name, ip.ix.Lists, ip.ix.Codes, ip.kind)
	if ip.within > 0 {
		label += fmt.Sprintf(", WITHIN ERROR %s", types.FormatFloat(ip.within))
	}
	if ip.decision != "" {
		label += "; " + ip.decision
	}
	return node(label, node("or "+scan.label, scan.children...))
}

// decide estimates the rows the index reads for q and records the choice.
func (ip *indexPlan) decide(view *ivf.View, Q *ivf.Query, b *ivf.Bounds, m *matchPlan, src ivf.Source) (bool, error) {
	u := view.ListUnits(b)
	defer func() { u.Release() }()
	limit := int(indexCostRatio * float64(view.N))
	// refined re-estimates with the blocks built so far, only when the
	// lists alone say the scan: the lists' bounds are the cheap ones.
	refined := false
	refine := func(est int, f func(*ivf.Units) int) int {
		if est <= limit || refined {
			return est
		}
		if view.BlocksBuilt() > view.N/refineRowsPerBlock {
			return est
		}
		refined = true
		ip.wantBlocks = true
		u = view.Units(Q, b)
		return f(u)
	}
	if ip.kind == ixSoft && ip.mode != "on" {
		invT := 1 / m.temp
		// Every row carries at least e^{(Floor−Top)/T}/N of the mass, so
		// at most tau·N·e^{(Top−Floor)/T} rows can be left out.
		if gap := (u.Top() - u.Floor()) * invT; ip.tau*math.Exp(gap) < 1-indexCostRatio {
			ip.decision = fmt.Sprintf("every row carries weight (scores within %.3g·T) → scan", gap)
			return false, nil
		}
		// Even if the best score reached the highest upper bound, the
		// rest could carry too much mass: the scan, without a probe.
		soft := func(u *ivf.Units) int { return u.EstimateSoft(invT, ip.tau, u.Top()) }
		if est := refine(soft(u), soft); est > limit {
			ip.decision = fmt.Sprintf("cost: at least %d of %d rows → scan", est, view.N)
			return false, nil
		}
	}
	// The lists' lower bounds stand for the best scores first; only when
	// that says the scan are real scores probed (they are never lower).
	kth, best := math.Inf(-1), math.Inf(-1)
	f := func(u *ivf.Units) int { return u.EstimateSoft(1/m.temp, ip.tau, best) }
	if ip.kind == ixHard {
		f = func(u *ivf.Units) int { return u.EstimateHard(ip.k, kth) }
	}
	est := f(u)
	if est > limit {
		var err error
		if kth, best, err = view.Probe(Q, b, ip.k, src); err != nil {
			return false, m.kernelErr(err)
		}
		est = refine(f(u), f)
	}
	use := float64(est) <= indexCostRatio*float64(view.N)
	choice := "scan"
	if use {
		choice = "index"
	}
	ip.decision = fmt.Sprintf("cost: about %d of %d rows → %s", est, view.N, choice)
	if ip.mode == "on" {
		use = true
		ip.decision += " (index_scan = on: index)"
	}
	return use, nil
}

// prepare evaluates the one query and builds the bounds; ok is false when
// the scan must run (a NULL query, or the index is estimated dearer).
func (ip *indexPlan) prepare(ctx context.Context, p *selectPlan) (view *ivf.View, Q *ivf.Query, b *ivf.Bounds, q queryVec, ok bool, err error) {
	m := p.match
	qs, err := m.queries(ctx, p.table.Schema())
	if err != nil {
		return nil, nil, nil, q, false, err
	}
	if m.sub != nil {
		ip.batch = qs // the scan runs these rather than the subquery again
		if len(qs) != 1 {
			// A batch of one query (MATCH (SELECT k … WHERE id = …)) is
			// searched like a literal; more read the keys once a block.
			ip.decision = fmt.Sprintf("a batch of %d queries reads every key once a block → scan", len(qs))
			return nil, nil, nil, q, false, nil
		}
	}
	if qs[0].v == nil {
		return nil, nil, nil, q, false, nil
	}
	if n := p.table.LiveRows(); ip.mode != "on" && (n < indexMinRows || n < int64(indexMinRowsPerList*ip.ix.Lists)) {
		ip.decision = fmt.Sprintf("%d rows, %d lists → scan (the index pays from %d rows and %d rows a list)", n, ip.ix.Lists, indexMinRows, indexMinRowsPerList)
		return nil, nil, nil, q, false, nil
	}
	t0 := time.Now()
	view = viewOf(ip.ix, p.table)
	ip.tView = time.Since(t0)
	ip.scanBytes = int64(view.N) * int64(m.dim) * 4
	t0 = time.Now()
	_, qmat, qnorms := m.queryMatrix(qs)
	Q = ivf.NewQuery(m.metric, qmat, qnorms[0])
	b = view.Bounds(Q)
	src := &tableSource{t: p.table, col: m.col, d: m.dim, where: p.where, segs: p.table.Segments()}
	ok, err = ip.decide(view, Q, b, m, src)
	if ok || ip.wantBlocks {
		// Split the lists into blocks in the background, once per table
		// version that a query reads through its index or would have
		// refined its estimate with (a search builds the blocks it needs
		// first itself); it stops when the version is replaced.
		st := stateOf(ip.ix, p.table)
		view.WarmOnce(&tableSource{t: p.table, col: m.col, d: m.dim, segs: p.table.Segments()},
			func() bool { return st.current() != view })
	}
	ip.stats.TimeBounds = time.Since(t0)
	return view, Q, b, qs[0], ok, err
}

// batchQueries is p's queries: those the index's decision evaluated, else
// evaluated now.
func (p *selectPlan) batchQueries(ctx context.Context) ([]queryVec, error) {
	if p.index != nil && p.index.batch != nil {
		return p.index.batch, nil
	}
	return p.match.queries(ctx, p.table.Schema())
}

// runIndexed runs p's match through its index when the planner chose one
// and the cost favours it; ok is false when the scan must run instead.
func runIndexed(ctx context.Context, p *selectPlan) (res [][]types.Value, ok bool, err error) {
	ip := p.index
	if ip == nil {
		return nil, false, nil
	}
	m := p.match
	view, Q, b, q, use, err := ip.prepare(ctx, p)
	defer b.Release()
	if err != nil || !use {
		return nil, false, err
	}
	ip.used = true
	src := &tableSource{t: p.table, col: m.col, d: m.dim, where: p.where, segs: p.table.Segments()}
	var rows []srcRow
	ncols := len(p.table.Schema().Columns)
	mk := func(id int64, score float32) srcRow {
		seg, i, _ := src.locate(id)
		return srcRow{seg: seg, i: i, ncols: ncols, rowid: id, score: score, qrow: q.qrow}
	}
	if ip.kind == ixHard {
		best, err := view.SearchHard(Q, b, ip.k, src, &ip.stats)
		if err != nil {
			return nil, true, m.kernelErr(err)
		}
		for _, s := range best {
			rows = append(rows, mk(s.ID, s.Score))
		}
	} else {
		sr, err := view.SearchSoft(Q, b, 1/m.temp, ip.tau, src, &ip.stats)
		if err != nil {
			return nil, true, m.kernelErr(err)
		}
		rows = make([]srcRow, 0, len(sr.IDs))
		for i, id := range sr.IDs {
			rows = append(rows, mk(id, sr.Scores[i]))
		}
		// Leaving out a fraction δ ≤ Delta/(1+Delta) of the mass moves a
		// blend by at most 2δ·max|v| and the weights by 2δ in total
		// variation (docs/indexes.md, §3).
		if ip.within > 0 {
			ip.bound = 2 * sr.Delta / (1 + sr.Delta)
			*ip.errBound = ip.bound
		}
	}
	t0 := time.Now()
	defer func() { ip.tOut = time.Since(t0) }()
	if ip.kind == ixSoft && m.blend {
		r, err := m.blendIndexed(rows, q)
		if err != nil {
			return nil, true, err
		}
		return [][]types.Value{r}, true, nil
	}
	rows, err = m.order(ctx, rows)
	if err != nil {
		return nil, true, err
	}
	if m.mode == query.Hard {
		rows = rows[min(m.skip, len(rows)):]
	}
	if m.blend {
		r, err := m.blendRows(ctx, rows, q)
		if err != nil {
			return nil, true, err
		}
		return [][]types.Value{r}, true, nil
	}
	out, err := finish(ctx, p.out, rows)
	return out, true, err
}

// blendIndexed blends the rows a SOFT index search scored. planIndex
// takes that path only when every blended item is a constant or a plain
// column without NULLs (plainBlend), so the values are read straight from
// the segments' column arrays, in the order the search found the rows
// (the order of a weighted sum cannot matter beyond rounding), and no row
// is sorted or evaluated as an expression.
func (m *matchPlan) blendIndexed(rows []srcRow, q queryVec) ([]types.Value, error) {
	m.weigh(rows)
	out := make([]types.Value, len(m.blendItems))
	var sumW float64
	for i := range rows {
		sumW += rows[i].weight
	}
	for bi, b := range m.blendItems {
		switch {
		case b.constant:
			v, err := m.constantItem(b, q)
			if err != nil {
				return nil, err
			}
			out[bi] = v
		case len(rows) == 0:
			// No row takes part: the blend is NULL.
		case b.vecCol >= 0:
			dim := rows[0].seg.Dim(b.vecCol)
			acc := make([]float64, dim)
			for i := range rows {
				r := &rows[i]
				if r.weight == 0 {
					continue
				}
				for j, x := range r.seg.Vectors(b.vecCol)[r.i*dim : (r.i+1)*dim] {
					acc[j] += r.weight * float64(x)
				}
			}
			vec := make([]float32, dim)
			for j, a := range acc {
				vec[j] = float32(a / sumW)
			}
			out[bi] = types.VectorValue(vec)
		default:
			isInt := b.e.typ().Kind == types.Int
			var acc float64
			for i := range rows {
				r := &rows[i]
				if r.weight == 0 {
					continue
				}
				if isInt {
					acc += r.weight * float64(r.seg.Ints(b.floatCol)[r.i])
				} else {
					acc += r.weight * r.seg.Floats(b.floatCol)[r.i]
				}
			}
			f, err := finite(query.Pos{}, acc/sumW, "the blend")
			if err != nil {
				return nil, err
			}
			out[bi] = f
		}
	}
	return out, nil
}

// analyzeLines reports what an index search did (EXPLAIN ANALYZE).
func (ip *indexPlan) analyzeLines() []string {
	if ip == nil {
		return nil
	}
	if !ip.used {
		return []string{fmt.Sprintf("index: not used (%s; deciding took: lists %s, bounds and probe %s)", ip.decision, ip.tView, ip.stats.TimeBounds)}
	}
	s := &ip.stats
	lines := []string{
		fmt.Sprintf("index %s: %s", ip.ix.Name, ip.decision),
	}
	skipWord := "skipped by bound"
	if ip.kind == ixSoft {
		skipWord = "summarised by their mass bound"
	}
	lines = append(lines,
		fmt.Sprintf("lists: %d non-empty, %d opened, %d %s", s.Lists, s.Visited, s.Skipped, skipWord),
		fmt.Sprintf("blocks: %d in the lists opened, %d read", s.Blocks, s.BlocksRead),
		fmt.Sprintf("rows: %d candidates in blocks read, %d bounded by codes (%d left out), %d scored in float32", s.Candidates, s.Coded, s.CodeSkipped, s.Scored),
		fmt.Sprintf("bytes read: %d of keys and codes (the scan reads %d of keys)", s.Bytes, ip.scanBytes),
	)
	if ip.kind == ixSoft {
		lines = append(lines, fmt.Sprintf("bound: left-out mass ≤ %.3g of the mass scored; error_bound %.3g", s.Bound, ip.bound))
	} else {
		lines = append(lines, "bound: exact (every list and block whose upper bound reaches the k-th best score was read)")
	}
	lines = append(lines, fmt.Sprintf("time: lists %s, bounds %s, search %s, output %s", ip.tView, s.TimeBounds, s.TimeScan, ip.tOut))
	return lines
}

// errorBoundE is the pseudo-column error_bound (SPEC §8): the error
// proven for the statement's query, 0 when exact.
type errorBoundE struct{ v *float64 }

func (e *errorBoundE) typ() types.Type { return types.Type{Kind: types.Float} }
func (e *errorBoundE) String() string  { return "error_bound" }
func (e *errorBoundE) eval(rowEnv) (types.Value, error) {
	return types.FloatValue(*e.v), nil
}

func (s *scope) bindErrorBound(n *query.ColumnRef) (expr, error) {
	if !s.match || s.errBound == nil {
		return nil, errorf(ErrNotFound, n.At, "error_bound is only available in SOFT SELECT (and HARD SELECT, where it is 0)")
	}
	if s.noScore != "" {
		return nil, errorf(ErrType, n.At, "error_bound cannot be used in %s", s.noScore)
	}
	return &errorBoundE{v: s.errBound}, nil
}

func (s *Session) setIndexScan(n *query.Set) error {
	switch v := strings.ToLower(n.Value); v {
	case "auto", "default":
		s.indexScan = ""
	case "on", "off":
		s.indexScan = v
	default:
		return errorf(ErrValue, n.ValueAt, "index_scan must be auto, on or off, got %q", n.Value)
	}
	return nil
}

// setIndexScan applies SET index_scan to a plan: off drops the index.
func (p *selectPlan) setIndexScan(mode string) {
	if p.index == nil {
		return
	}
	if mode == "off" {
		p.index = nil
		return
	}
	p.index.mode = mode
}
