package exec

import (
	"context"
	"errors"
	"math"
	"sync"

	"github.com/softdb/softdb/attention"
	"github.com/softdb/softdb/query"
	"github.com/softdb/softdb/types"
)

// kernelErr turns an attention error into the statement's error: a score
// beyond float32's range names the table and the match column.
func (m *matchPlan) kernelErr(err error) error {
	if errors.Is(err, attention.ErrScoreRange) {
		return errorf(ErrValue, query.Pos{}, "%s score of %s.%s exceeds float32's range (±3.4e38) for this query; scale the vectors down or use COSINE", m.metric, m.table, m.colName)
	}
	return err
}

// errNotFused sends a statement from the fused blend to the general path.
var errNotFused = errors.New("exec: blend left to the general path")

// checkScores fails when a candidate row's score is ±Inf: its exact
// score lies beyond float32's range (attention.ErrScoreRange).
func (m *matchPlan) checkScores(rows []srcRow) error {
	for i := range rows {
		if s := rows[i].score; s > math.MaxFloat32 || s < -math.MaxFloat32 {
			return m.kernelErr(attention.ErrScoreRange)
		}
	}
	return nil
}

// fusable: every blended item is a plain VECTOR, FLOAT or INT column (or a
// constant) and the softmax runs over all candidates at T > 0, so one
// fused pass per item computes the blend without materialising weights.
func (m *matchPlan) fusable() bool {
	if m.top > 0 || m.temp == 0 {
		return false
	}
	for _, b := range m.blendItems {
		if b.vecCol < 0 && b.floatCol < 0 && !b.constant {
			return false
		}
	}
	return true
}

// runFusedBlend computes the blend of each column item with the fused
// online-softmax kernels, chunks in parallel, partial states merged in
// chunk order so the result does not depend on the number of threads.
// Each item masks its own NULLs (SPEC §4: NULLs take no part, the weights
// renormalised over the rest). VECTOR items fold their value rows with the
// scores (attention.Accumulate); FLOAT and INT items share one scoring
// pass per chunk and fold their float64 values (AccumulateFloats).
func (m *matchPlan) runFusedBlend(ctx context.Context, chunks []chunk, qs []queryVec) ([][]types.Value, error) {
	if m.learn != nil {
		return m.learn.runFused(ctx, m, chunks, qs) // HEADS, BACKWARD
	}
	// Live queries (NULL ones blend to NULL).
	d := m.dim
	live, qmat, qnorms := m.queryMatrix(qs)
	invT := 1 / m.temp // finite T > 0: positive, +Inf for a subnormal T
	results := make([][]types.Value, len(qs))
	for i := range results {
		results[i] = make([]types.Value, len(m.blendItems))
	}
	nblocks := (len(live) + queryBlock - 1) / queryBlock
	var floats []int // the FLOAT/INT items
	for bi, b := range m.blendItems {
		switch {
		case b.constant:
			for i, q := range qs {
				v, err := m.constantItem(b, q)
				if err != nil {
					return nil, err
				}
				results[i][bi] = v
			}
			continue
		case b.floatCol >= 0:
			floats = append(floats, bi)
			continue
		}
		dv := b.t.Dim
		// Work items are (chunk, block of queries): short enough that a
		// cancelled context stops a big batch promptly, and many enough to
		// keep every core busy.
		partial := make([][]*attention.State, len(chunks))
		for ci := range partial {
			partial[ci] = make([]*attention.State, len(live))
		}
		err := parallel(ctx, len(chunks)*nblocks, func(item int) error {
			ci, qb := item/nblocks, item%nblocks
			c := &chunks[ci]
			mask := c.mask
			if nulls := c.seg.Nulls(b.vecCol); nulls != nil {
				mask = andNotNull(mask, nulls[c.start:c.end])
			}
			lo, hi := qb*queryBlock, min((qb+1)*queryBlock, len(live))
			states := partial[ci][lo:hi]
			for j := range states {
				states[j] = attention.NewState(dv)
			}
			keys := c.seg.Vectors(m.col)[c.start*d : c.end*d]
			vals := c.seg.Vectors(b.vecCol)[c.start*dv : c.end*dv]
			if len(states) == 1 {
				states[0].Accumulate(m.metric, qmat[lo*d:hi*d], qnorms[lo], keys, d, vals, dv, mask, invT)
			} else {
				attention.AccumulateBatch(states, m.metric, qmat[lo*d:hi*d], qnorms[lo:hi], keys, d, vals, dv, mask, invT)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		for j, i := range live {
			total := attention.NewState(dv)
			for ci := range chunks {
				total.Merge(partial[ci][j])
			}
			if err := total.Err(); err != nil {
				return nil, m.kernelErr(err)
			}
			out := make([]float32, dv)
			if total.Result(out) {
				results[i][bi] = types.VectorValue(out)
			}
		}
	}
	if len(floats) > 0 {
		if err := m.fusedFloats(ctx, chunks, live, qmat, qnorms, invT, floats, results); err != nil {
			return nil, err
		}
	}
	return results, nil
}

// fusedFloats blends the FLOAT and INT items floats of m.blendItems into
// results: each work item (a chunk × a block of queries) scores the
// chunk's keys once (attention.ScoreBatch) and folds every item's values
// under its own NULL mask.
func (m *matchPlan) fusedFloats(ctx context.Context, chunks []chunk, live []int, qmat, qnorms []float32, invT float64, floats []int, results [][]types.Value) error {
	d := m.dim
	nblocks := (len(live) + queryBlock - 1) / queryBlock
	// partial[ci][f*len(live)+j]: chunk ci, item floats[f], query j.
	partial := make([][]*attention.State, len(chunks))
	for ci := range partial {
		partial[ci] = make([]*attention.State, len(floats)*len(live))
	}
	err := parallel(ctx, len(chunks)*nblocks, func(item int) error {
		ci, qb := item/nblocks, item%nblocks
		c := &chunks[ci]
		n := c.end - c.start
		lo, hi := qb*queryBlock, min((qb+1)*queryBlock, len(live))
		keys := c.seg.Vectors(m.col)[c.start*d : c.end*d]
		sp := floatScratch.Get().(*fusedScratch)
		defer floatScratch.Put(sp)
		scores := grow(&sp.scores, (hi-lo)*n)
		// ±Inf scores of masked rows do no harm; AccumulateFloats reports
		// those of candidate rows.
		_ = attention.ScoreBatch(scores, n, m.metric, qmat[lo*d:hi*d], qnorms[lo:hi], keys, d)
		for f, bi := range floats {
			col := m.blendItems[bi].floatCol
			mask := c.mask
			if nulls := c.seg.Nulls(col); nulls != nil {
				mask = andNotNull(mask, nulls[c.start:c.end])
			}
			// A FLOAT column is read in place; an INT one converted.
			var vals []float64
			if m.blendItems[bi].e.typ().Kind == types.Int {
				vals = grow(&sp.vals, n)
				for i, x := range c.seg.Ints(col)[c.start:c.end] {
					vals[i] = float64(x)
				}
			} else {
				vals = c.seg.Floats(col)[c.start:c.end]
			}
			for j := lo; j < hi; j++ {
				s := attention.NewState(1)
				s.AccumulateFloats(scores[(j-lo)*n:(j-lo+1)*n], vals, mask, invT)
				partial[ci][f*len(live)+j] = s
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for f, bi := range floats {
		for j, i := range live {
			total := attention.NewState(1)
			for ci := range chunks {
				total.Merge(partial[ci][f*len(live)+j])
			}
			if err := total.Err(); err != nil {
				return m.kernelErr(err)
			}
			if total.Empty() {
				continue
			}
			x := total.Acc[0] / total.Sum
			if math.IsInf(x, 0) || math.IsNaN(x) {
				// Unnormalised sums of FLOATs near 1e308 overflowed: the
				// general path sums normalised weights.
				return errNotFused
			}
			results[i][bi] = types.FloatValue(x)
		}
	}
	return nil
}

// fusedScratch is a work item's scores and converted values in
// fusedFloats: fresh ones per chunk and pass cost a clear of about 1 MiB
// each, about 5% of a shared pass of 16 FLOAT blends.
type fusedScratch struct {
	scores []float32
	vals   []float64
}

var floatScratch = sync.Pool{New: func() any { return new(fusedScratch) }}

// grow returns (*buf)[:n], reallocating *buf when it is too short; the
// contents are not cleared.
func grow[T any](buf *[]T, n int) []T {
	if cap(*buf) < n {
		*buf = make([]T, n)
	}
	return (*buf)[:n]
}

// queryMatrix lays the non-NULL queries of qs out for the batch kernels:
// live[j] is the index in qs of row j of qmat (d floats each), qnorms[j]
// its norm.
// For COSINE each query is scaled by a power of two into the range where
// the float32 kernels serve it (attention.ScaleQuery): the scores are the
// same, and a query of norm 1e-20 or 1e20 keeps the fast path.
func (m *matchPlan) queryMatrix(qs []queryVec) (live []int, qmat, qnorms []float32) {
	d := m.dim
	for i, q := range qs {
		if q.v != nil {
			live = append(live, i)
		}
	}
	qmat = make([]float32, len(live)*d)
	qnorms = make([]float32, len(live))
	for j, i := range live {
		if m.metric == attention.Cosine {
			qnorms[j] = attention.ScaleQuery(qmat[j*d:(j+1)*d], qs[i].v)
			continue
		}
		copy(qmat[j*d:], qs[i].v)
		qnorms[j] = attention.Norm(qs[i].v)
	}
	return live, qmat, qnorms
}

// queryBlock is how many queries of a batch one work item takes: 256
// queries × 16 Ki keys is ~10⁹ FLOP at d = 128, a few milliseconds.
const queryBlock = 256

// qrowEnv is the row on which constant blend items (which may name only
// qrow) are evaluated.
func qrowEnv(ncols int, qrow types.Value) []types.Value {
	r := make([]types.Value, ncols+numPseudo)
	r[ncols+pseudoQrow] = qrow
	return r
}

func andNotNull(mask, nulls []byte) []byte {
	out := make([]byte, len(mask))
	for i := range out {
		if nulls[i] == 0 {
			out[i] = mask[i]
		}
	}
	return out
}
