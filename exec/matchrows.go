package exec

// The row form of a match statement: best rows, ordering, weights, blends.

import (
	"context"

	"github.com/softdb/softdb/attention"
	"github.com/softdb/softdb/query"
	"github.com/softdb/softdb/types"
)

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

// constantItem is the value of a blend item that does not depend on the
// rows (a constant, or an expression of the query row alone).
func (m *matchPlan) constantItem(b blendItem, q queryVec) (types.Value, error) {
	return b.e.eval(flatRow(qrowEnv(m.ncols, q.qrow)))
}

// blendRows computes the blend form from weighted candidates, renormalising
// each item over its non-NULL values (SPEC §4).
func (m *matchPlan) blendRows(ctx context.Context, rows []srcRow, q queryVec) ([]types.Value, error) {
	cancel := newCanceller(ctx)
	out := make([]types.Value, len(m.blendItems))
	for bi, b := range m.blendItems {
		if b.constant {
			v, err := m.constantItem(b, q)
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
