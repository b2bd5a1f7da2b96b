package attention

import (
	"math"
	"sort"
)

// Scored is a row id with its score.
type Scored struct {
	Score float32
	ID    int64
}

// better is the ranking: higher score first, ties to the lower id (SPEC §3).
func better(a, b Scored) bool {
	return a.Score > b.Score || (a.Score == b.Score && a.ID < b.ID)
}

// TopK keeps the k best (score, id) pairs pushed into it, ranked by score
// and, on equal scores, by the lower id. It is a binary min-heap whose root
// is the worst pair kept, so a row that cannot enter costs one comparison.
// TopKs over disjoint rows combine with Merge. NaN scores are never kept.
// A TopK is not safe for concurrent use.
type TopK struct {
	k int
	h []Scored
	// overflow: some row scored beyond float32's range (see Err).
	overflow bool
}

// NewTopK returns an empty TopK keeping k pairs (k ≥ 0).
func NewTopK(k int) *TopK {
	if k < 0 {
		panic("attention: NewTopK: negative k")
	}
	return &TopK{k: k, h: make([]Scored, 0, min(k, 1<<16))}
}

// Len returns the number of pairs kept.
func (t *TopK) Len() int { return len(t.h) }

// Reset empties t.
func (t *TopK) Reset() { t.h = t.h[:0]; t.overflow = false }

// Err returns ErrScoreRange if the exact score of some row offered by
// PushBlock or TopKBatch (or of a TopK merged into t) lies beyond
// float32's range: that row was offered with a score of ±Inf, and the
// ranking is not meaningful. Nil otherwise.
func (t *TopK) Err() error {
	if t.overflow {
		return ErrScoreRange
	}
	return nil
}

// Push offers one pair.
func (t *TopK) Push(score float32, id int64) {
	if score != score {
		return
	}
	e := Scored{score, id}
	if len(t.h) < t.k {
		t.h = append(t.h, e)
		t.up(len(t.h) - 1)
		return
	}
	if t.k == 0 || !better(e, t.h[0]) {
		return
	}
	t.h[0] = e
	t.down(0)
}

// Merge offers every pair of o to t; o is unchanged.
func (t *TopK) Merge(o *TopK) {
	t.overflow = t.overflow || o.overflow
	for _, e := range o.h {
		t.Push(e.Score, e.ID)
	}
}

// Sorted returns the pairs kept, best first, in a new slice; t is unchanged.
func (t *TopK) Sorted() []Scored {
	out := append([]Scored(nil), t.h...)
	sort.Slice(out, func(i, j int) bool { return better(out[i], out[j]) })
	return out
}

func (t *TopK) up(i int) {
	h := t.h
	for i > 0 {
		p := (i - 1) / 2
		if !better(h[p], h[i]) { // parent already worse or equal: heap holds
			break
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
}

func (t *TopK) down(i int) {
	h := t.h
	n := len(h)
	for {
		w := i
		if l := 2*i + 1; l < n && better(h[w], h[l]) {
			w = l
		}
		if r := 2*i + 2; r < n && better(h[w], h[r]) {
			w = r
		}
		if w == i {
			return
		}
		h[i], h[w] = h[w], h[i]
		i = w
	}
}

// pushChunk offers a chunk of scores (a stack buffer with capacity for
// whole vectors): when the heap is full and no score of the chunk can
// enter, a vector maximum rejects the whole chunk. Masked rows count in
// that maximum too (their scores are computed all the same): it bounds
// the unmasked rows' scores from above, so the test stays exact.
func (t *TopK) pushChunk(scores []float32, base int64, ids []int64, mask []byte) {
	if t.k > 0 && len(t.h) == t.k && kern.maxScore(scores) < t.h[0].Score {
		return
	}
	t.pushRows(scores, base, ids, mask)
}

// pushRows offers scores[i] with id ids[i] (or base+i when ids is nil),
// skipping masked rows; the heap root is checked inline so that rejected
// rows cost a comparison.
func (t *TopK) pushRows(scores []float32, base int64, ids []int64, mask []byte) {
	for i, s := range scores {
		if mask != nil && mask[i] == 0 {
			continue
		}
		id := base + int64(i)
		if ids != nil {
			id = ids[i]
		}
		if len(t.h) == t.k && t.k > 0 {
			r := t.h[0]
			if s < r.Score || (s == r.Score && id > r.ID) {
				continue
			}
		}
		t.Push(s, id)
	}
}

// PushBlock scores rows [0, n) of keys (n×d row-major) against q and offers
// them: row i has id ids[i], or i when ids is nil; mask as in Accumulate;
// qnorm = ‖q‖ for Cosine. Scores go through a small stack buffer only.
func (t *TopK) PushBlock(m Metric, q []float32, qnorm float32, keys []float32, d int, ids []int64, mask []byte) {
	m.check()
	checkQuery(q, d)
	n := rows(keys, d)
	checkIDs(n, ids, mask)
	var sc, kk [chunk]float32
	for start := 0; start < n; start += chunk {
		end := min(start+chunk, n)
		var mk []byte
		if mask != nil {
			mk = mask[start:end]
		}
		var id []int64
		if ids != nil {
			id = ids[start:end]
		}
		if scoreChunk(sc[:end-start], kk[:], m, q, qnorm, keys[start*d:end*d], d) && overflowAt(sc[:end-start], mk) {
			t.overflow = true
		}
		t.pushChunk(sc[:end-start], int64(start), id, mk)
	}
}

func checkIDs(n int, ids []int64, mask []byte) {
	if ids != nil && len(ids) != n {
		panic("attention: ids length differs from the row count")
	}
	if mask != nil && len(mask) != n {
		panic("attention: mask length differs from the row count")
	}
}

// TopKBatch is PushBlock for M queries (qs M×d row-major, tops[a] for query
// a, qnorms as in AccumulateBatch), scored tile by tile like
// AccumulateBatch so the keys are read from memory once for all queries.
// The scores offered are exactly PushBlock's, and so is the ranking.
//
// L2 is ranked in GEMM form (topL2Batch), then the candidates rescored
// exactly.
func TopKBatch(tops []*TopK, m Metric, qs []float32, qnorms []float32, keys []float32, d int, ids []int64, mask []byte) {
	m.check()
	nq := len(tops)
	if len(qs) != nq*d {
		panic("attention: TopKBatch: qs must hold len(tops)×d floats")
	}
	if m == Cosine && len(qnorms) != nq {
		panic("attention: TopKBatch: Cosine needs one norm per query")
	}
	n := rows(keys, d)
	checkIDs(n, ids, mask)
	if nq == 0 || n == 0 {
		return
	}
	if nq == 1 {
		// One query is bound by memory bandwidth: PushBlock reads the keys
		// once, in memory order, and needs no rescoring for L2.
		var qnorm float32
		if m == Cosine {
			qnorm = qnorms[0]
		}
		tops[0].PushBlock(m, qs, qnorm, keys, d, ids, mask)
		return
	}
	if m == L2 {
		topL2Batch(tops, qs, keys, d, ids, mask)
		return
	}
	nk := max(min(chunk, keyTileBytes/(4*d)), 1)
	var tile [tileQ * chunk]float32
	var kk, p [chunk]float32
	for start := 0; start < n; start += nk {
		end := min(start+nk, n)
		c := end - start
		kc := keys[start*d : end*d]
		var mk []byte
		if mask != nil {
			mk = mask[start:end]
			if allZero(mk) {
				continue
			}
		}
		var id []int64
		if ids != nil {
			id = ids[start:end]
		}
		if m == Cosine {
			kern.dotNormRows(p[:c], kk[:c], qs[:d], kc, d)
		}
		for a0 := 0; a0 < nq; a0 += tileQ {
			a1 := min(a0+tileQ, nq)
			over := scoreTile(tile[:], chunk, m, qs, qnorms, a0, a1, kc, c, d, kk[:c])
			for a := a0; a < a1; a++ {
				row := tile[(a-a0)*chunk : (a-a0)*chunk+c]
				if over&(1<<(a-a0)) != 0 && overflowAt(row, mk) {
					tops[a].overflow = true
				}
				tops[a].pushChunk(row, int64(start), id, mk)
			}
		}
	}
}

// topL2Batch is TopKBatch for L2. The dot-product tile is about twice as
// fast as differences, so rows are ranked in GEMM form (as FAISS's
// IndexFlatL2 does) by r = 2q·k − ‖k‖² = ‖q‖² − ‖q−k‖², whose order is the
// L2 order. But r is rounded relative to ‖q‖² + 2‖k‖², not to the
// distance: keys far from the origin and close together all round alike.
// So every row keeps an error bound ε with |r̃ − r| ≤ ε, and the rows
// rescored exactly are all those whose upper bound r̃ + ε reaches the k-th
// best lower bound r̃ − ε among the rows: any other row is certainly worse
// than k rows. The ranking is therefore exactly PushBlock's, however
// clustered the keys; when all rows are within ε of each other every row
// is rescored.
//
// The bound: with γ_d ≤ 1.01·d·u (u = 2⁻²⁴; Higham, Accuracy and Stability
// of Numerical Algorithms, 2nd ed., §3.1), the float32 q·k errs by
// γ_d·‖q‖‖k‖ ≤ γ_d(‖q‖² + ‖k‖²)/2, ‖k‖² by γ_d‖k‖², and the subtraction
// and the bounds themselves by a few u of ‖q‖² + 2‖k‖², so
// ε = (2d + 8)·u·(‖q‖² + 2‖k‖²) + (4d + 16)·2⁻¹⁴⁹ (the last term for
// products that underflow) covers it. Where ‖q‖² + 2‖k‖² could overflow
// float32 (beyond 2¹²⁴), a tile is scored in the direct form instead and
// its exact scores go straight to the heaps.
func topL2Batch(tops []*TopK, qs, keys []float32, d int, ids []int64, mask []byte) {
	nq, n := len(tops), len(keys)/d
	g := float64(2*d+8) * 0x1p-24
	g2 := float32(2 * g)
	eta := float32(float64(4*d+16) * 0x1p-149)
	qq := make([]float64, nq)
	cands := make([]l2Cands, nq)
	for a := range cands {
		q := qs[a*d : (a+1)*d]
		for _, x := range q {
			qq[a] += float64(x) * float64(x)
		}
		cands[a] = l2Cands{low: NewTopK(tops[a].k), limit: max(1024, 8*tops[a].k)}
	}
	nk := max(min(chunk, keyTileBytes/(4*d)), 1)
	var tile [tileQ * chunk]float32
	var kk, p, lo, up [chunk]float32
	for start := 0; start < n; start += nk {
		end := min(start+nk, n)
		c := end - start
		kc := keys[start*d : end*d]
		var mk []byte
		if mask != nil {
			mk = mask[start:end]
			if allZero(mk) {
				continue
			}
		}
		var id []int64
		if ids != nil {
			id = ids[start:end]
		}
		kern.dotNormRows(p[:c], kk[:c], qs[:d], kc, d)
		kkmax := float64(kern.maxScore(kk[:c]))
		for a0 := 0; a0 < nq; a0 += tileQ {
			a1 := min(a0+tileQ, nq)
			gemm := true
			for a := a0; a < a1; a++ {
				if !(qq[a]+2*kkmax <= 0x1p124) {
					gemm = false
				}
			}
			if !gemm {
				over := scoreTile(tile[:], chunk, L2, qs, nil, a0, a1, kc, c, d, nil)
				for a := a0; a < a1; a++ {
					row := tile[(a-a0)*chunk : (a-a0)*chunk+c]
					if over&(1<<(a-a0)) != 0 && overflowAt(row, mk) {
						tops[a].overflow = true
					}
					tops[a].pushChunk(row, int64(start), id, mk)
				}
				continue
			}
			kern.dotTile(tile[:], chunk, qs[a0*d:a1*d], a1-a0, kc, c, d)
			for a := a0; a < a1; a++ {
				row := tile[(a-a0)*chunk : (a-a0)*chunk+c]
				e0 := float32(g*qq[a]) + eta
				for i, x := range row {
					r := 2*x - kk[i]
					e := e0 + g2*kk[i]
					lo[i], up[i] = r-e, r+e
				}
				cs := &cands[a]
				cs.low.pushChunk(lo[:c], int64(start), nil, mk)
				cs.add(up[:c], start, mk)
			}
		}
	}
	for a := range cands {
		cs := &cands[a]
		q := qs[a*d : (a+1)*d]
		bound := cs.bound()
		for j, i := range cs.rows {
			if cs.ups[j] < bound {
				continue
			}
			kern.l2Rows(p[:1], q, keys[int(i)*d:(int(i)+1)*d], d)
			id := int64(i)
			if ids != nil {
				id = ids[i]
			}
			tops[a].Push(-p[0], id)
		}
	}
}

// l2Cands collects one query's L2 candidates in topL2Batch: low keeps the
// k best lower bounds; rows (with their upper bounds ups) are the rows
// whose upper bound reached low's worst when they came.
type l2Cands struct {
	low   *TopK
	rows  []int32
	ups   []float32
	limit int // prune when rows grows beyond it
}

// bound returns the k-th best lower bound so far (−Inf until there are k):
// k rows are certainly at least this good.
func (c *l2Cands) bound() float32 {
	if c.low.k == 0 {
		return float32(math.Inf(1))
	}
	if len(c.low.h) < c.low.k {
		return float32(math.Inf(-1))
	}
	return c.low.h[0].Score
}

// add offers a chunk of upper bounds (rows base, base+1, …).
func (c *l2Cands) add(up []float32, base int, mask []byte) {
	b := c.bound()
	if kern.maxScore(up) < b {
		return
	}
	for i, u := range up {
		if u >= b && (mask == nil || mask[i] != 0) {
			c.rows = append(c.rows, int32(base+i))
			c.ups = append(c.ups, u)
		}
	}
	if len(c.rows) > c.limit {
		b = c.bound()
		w := 0
		for j, u := range c.ups {
			if u >= b {
				c.rows[w], c.ups[w] = c.rows[j], u
				w++
			}
		}
		c.rows, c.ups = c.rows[:w], c.ups[:w]
		if w > c.limit/2 {
			c.limit *= 2 // rows within rounding of each other: keep them all
		}
	}
}
