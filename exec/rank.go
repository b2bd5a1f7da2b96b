package exec

import (
	"bytes"
	"context"
	"math"
	"slices"

	"github.com/softdb/softdb/attention"
)

// The row form of a SOFT SELECT without TOP weighs every candidate row of
// a query. Materialising each as a srcRow (about 100 bytes) and sorting
// them made a batch cost ~70 ms per query over 10⁵ rows, far more than
// the scoring; the functions here work on the query's scores instead.

// scoredRows returns the candidate rows of every chunk with their scores
// (a query's row of scoreBatch, laid out by chunkOffsets), in rowid order.
// The rows are counted first and written in place, chunks in parallel:
// growing a slice per chunk and joining them cost more than the scoring.
func (m *matchPlan) scoredRows(ctx context.Context, chunks []chunk, q queryVec, scores []float32) ([]srcRow, error) {
	if q.v == nil {
		return nil, nil
	}
	offs := chunkOffsets(chunks)
	at := make([]int, len(chunks)+1) // where each chunk's rows start
	for ci := range chunks {
		c := &chunks[ci]
		n := len(c.cand)
		if c.cand == nil {
			n = len(c.mask) - bytes.Count(c.mask, []byte{0})
		}
		at[ci+1] = at[ci] + n
	}
	rows := make([]srcRow, at[len(chunks)])
	err := parallel(ctx, len(chunks), func(ci int) error {
		c := &chunks[ci]
		part := rows[at[ci]:at[ci+1]]
		sc := scores[offs[ci]:offs[ci+1]]
		base := c.seg.Base() + int64(c.start)
		row := func(j, i int, s float32) {
			part[j] = srcRow{seg: c.seg, i: c.start + i, ncols: m.ncols, rowid: base + int64(i), score: s, qrow: q.qrow}
		}
		if c.cand != nil {
			for j, i := range c.cand {
				row(j, int(i), sc[j])
			}
			return m.checkScores(part)
		}
		j := 0
		for i, s := range sc {
			if c.mask[i] != 0 {
				row(j, i, s)
				j++
			}
		}
		return m.checkScores(part)
	})
	if err != nil {
		return nil, err
	}
	return rows, nil
}

// bestOfScores is the row form's path when only the best rowsNeeded rows
// are used (a LIMIT with no ORDER BY, or one by weight or score
// descending): the softmax normaliser and the best rows come straight
// from the query's scores (scoreBatch, laid out by chunkOffsets), and only
// the kept rows become srcRows, ordered by weight descending, then rowid.
// The weights are those of weigh, bit for bit: the same maximum, the same
// terms summed in rowid order.
func (m *matchPlan) bestOfScores(ctx context.Context, chunks []chunk, q queryVec, scores []float32) ([]srcRow, error) {
	if q.v == nil {
		return nil, nil
	}
	offs := chunkOffsets(chunks)
	top := attention.NewTopK(m.rowsNeeded)
	// each calls f on every candidate's score and rowid, in rowid order.
	each := func(f func(s float32, rowid int64)) error {
		for ci := range chunks {
			c := &chunks[ci]
			sc := scores[offs[ci]:offs[ci+1]]
			base := c.seg.Base() + int64(c.start)
			if c.cand != nil {
				for j, i := range c.cand {
					f(sc[j], base+i)
				}
			} else {
				for i, s := range sc {
					if c.mask[i] != 0 {
						f(s, base+int64(i))
					}
				}
			}
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		return nil
	}
	best, n, outOfRange := float32(0), 0, false
	err := each(func(s float32, rowid int64) {
		outOfRange = outOfRange || s > math.MaxFloat32 || s < -math.MaxFloat32
		if n == 0 || s > best {
			best = s
		}
		n++
		top.Push(s, rowid)
	})
	if err != nil || n == 0 {
		return nil, err
	}
	if outOfRange {
		return nil, m.kernelErr(attention.ErrScoreRange)
	}
	kept := top.Sorted()
	rows := make([]srcRow, len(kept))
	for j, s := range kept {
		seg, i := locate(chunks, s.ID)
		rows[j] = srcRow{seg: seg, i: i, ncols: m.ncols, rowid: s.ID, score: s.Score, qrow: q.qrow}
	}
	if m.temp == 0 {
		if len(rows) > 0 {
			rows[0].weight = 1 // the best row, the lowest rowid among equals
		}
		return rows, nil
	}
	invT, sum := 1/m.temp, 0.0 // +Inf for a subnormal T: attention.Weight takes it
	err = each(func(s float32, _ int64) { sum += attention.Weight(s, best, invT) })
	if err != nil {
		return nil, err
	}
	for j := range rows {
		rows[j].weight = attention.Weight(rows[j].score, best, invT) / sum
	}
	return rows, nil
}

// rankBlock runs bestOfScores for a block of queries, on all cores: each
// query's pass over its scores is serial (its sum must not depend on the
// number of threads), so the queries of a block are what runs in
// parallel.
func (m *matchPlan) rankBlock(ctx context.Context, chunks []chunk, qs []queryVec, scores [][]float32) ([][]srcRow, error) {
	out := make([][]srcRow, len(qs))
	err := parallel(ctx, len(qs), func(i int) error {
		var err error
		out[i], err = m.bestOfScores(ctx, chunks, qs[i], scores[i])
		return err
	})
	return out, err
}

// sortByWeight orders rows (in rowid order, weighed) by weight descending,
// then rowid. Weights grow with scores, so that is score descending, then
// rowid: the rows are sorted as packed 64-bit keys (the score's bits made
// to sort descending, then the row's index), not as 100-byte structs.
func sortByWeight(rows []srcRow) {
	if len(rows) > math.MaxUint32 {
		slices.SortStableFunc(rows, byScoreDesc)
		return
	}
	keys := make([]uint64, len(rows))
	for i := range rows {
		keys[i] = uint64(descendingBits(rows[i].score))<<32 | uint64(i)
	}
	slices.Sort(keys)
	sorted := make([]srcRow, len(rows))
	for j, k := range keys {
		sorted[j] = rows[uint32(k)]
	}
	copy(rows, sorted)
}

// byScoreDesc orders rows by score, highest first (a stable sort keeps
// rowid order among equals).
func byScoreDesc(a, b srcRow) int {
	switch {
	case a.score > b.score:
		return -1
	case a.score < b.score:
		return 1
	}
	return 0
}

// descendingBits maps a float32 to a uint32 whose ascending order is the
// float's descending order (-0 and +0 as equals; NaN last).
func descendingBits(f float32) uint32 {
	if f != f {
		return math.MaxUint32
	}
	if f == 0 {
		f = 0 // -0 sorts with +0
	}
	b := math.Float32bits(f)
	if b&(1<<31) != 0 {
		b = ^b // negative: larger magnitude sorts first ascending
	} else {
		b |= 1 << 31
	}
	return ^b
}
