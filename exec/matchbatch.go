package exec

// Batched matching: many queries scored or ranked together over the chunks.

import (
	"context"

	"github.com/softdb/softdb/attention"
	"github.com/softdb/softdb/query"
)

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
