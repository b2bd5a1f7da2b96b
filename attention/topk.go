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
		kern.prefetch(keys[end*d : min(end+nk, n)*d]) // as in AccumulateBatch
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
// So each query carries an error bound ε with |r̃ − r| ≤ ε for every row
// of the block, and the rows rescored exactly are all those with
// r̃ ≥ r̃ₖ − 2ε, r̃ₖ the k-th best r̃: any other row is certainly worse
// than k rows. The ranking is therefore exactly PushBlock's, however
// clustered the keys; when all rows are within 2ε of each other every row
// is rescored.
//
// The bound: with γ_d ≤ 1.01·d·u (u = 2⁻²⁴; Higham, Accuracy and Stability
// of Numerical Algorithms, 2nd ed., §3.1), the float32 q·k errs by
// γ_d·‖q‖‖k‖ ≤ γ_d(‖q‖² + ‖k‖²)/2, ‖k‖² by γ_d‖k‖², and the subtraction
// and the threshold r̃ₖ − 2ε by a few u of ‖q‖² + 2‖k‖², so
// ε = (2d + 8)·u·(‖q‖² + 2·max‖k‖²) + (4d + 16)·2⁻¹⁴⁹ (the last term for
// products that underflow) covers every row. A query for which
// ‖q‖² + 2·max‖k‖² could overflow float32 (beyond 2¹²⁴) is scored in the
// direct form instead, and its exact scores go straight to its heap.
func topL2Batch(tops []*TopK, qs, keys []float32, d int, ids []int64, mask []byte) {
	nq, n := len(tops), len(keys)/d
	// ‖k‖² of every row, and the largest: one extra read of the keys for
	// the whole block of queries.
	kkAll := make([]float32, n+8)
	var p [chunk]float32
	for start := 0; start < n; start += chunk {
		end := min(start+chunk, n)
		kern.dotNormRows(p[:end-start], kkAll[start:end], qs[:d], keys[start*d:end*d], d)
	}
	kkmax := float64(Max(kkAll[:n]))
	g := float64(2*d+8) * 0x1p-24
	eta := float64(4*d+16) * 0x1p-149
	cands := make([]l2Cands, nq)
	gemm := make([]bool, nq)
	for a := range cands {
		var qq float64
		for _, x := range qs[a*d : (a+1)*d] {
			qq += float64(x) * float64(x)
		}
		gemm[a] = qq+2*kkmax <= 0x1p124
		cands[a] = l2Cands{top: NewTopK(tops[a].k), eps2: float32(2 * (g*(qq+2*kkmax) + eta)), limit: max(1024, 8*tops[a].k)}
	}
	nk := max(min(chunk, keyTileBytes/(4*d)), 1)
	var tile [tileQ * chunk]float32
	for start := 0; start < n; start += nk {
		end := min(start+nk, n)
		c := end - start
		kc := keys[start*d : end*d]
		kern.prefetch(keys[end*d : min(end+nk, n)*d]) // as in AccumulateBatch
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
		kk := kkAll[start:end]
		for a0 := 0; a0 < nq; a0 += tileQ {
			a1 := min(a0+tileQ, nq)
			direct := false
			for a := a0; a < a1; a++ {
				direct = direct || !gemm[a]
			}
			if direct {
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
				for i, x := range row {
					row[i] = 2*x - kk[i]
				}
				cs := &cands[a]
				cs.top.pushChunk(row, int64(start), nil, mk)
				cs.add(row, start, mk)
			}
		}
	}
	for a := range cands {
		cs := &cands[a]
		q := qs[a*d : (a+1)*d]
		bound := cs.bound()
		for j, i := range cs.rows {
			if cs.rs[j] < bound {
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

// l2Cands collects one query's L2 candidates in topL2Batch: top keeps the
// k best r̃; rows (with their r̃, rs) are the rows that were within 2ε
// (eps2) of top's worst when they came.
type l2Cands struct {
	top   *TopK
	eps2  float32
	rows  []int32
	rs    []float32
	limit int // prune when rows grows beyond it
}

// bound returns r̃ₖ − 2ε (−Inf until there are k rows): a row below it is
// certainly worse than k others.
func (c *l2Cands) bound() float32 {
	if c.top.k == 0 {
		return float32(math.Inf(1))
	}
	if len(c.top.h) < c.top.k {
		return float32(math.Inf(-1))
	}
	return c.top.h[0].Score - c.eps2
}

// add offers a chunk of r̃ (rows base, base+1, …).
func (c *l2Cands) add(r []float32, base int, mask []byte) {
	b := c.bound()
	if kern.maxScore(r) < b {
		return
	}
	for i, x := range r {
		if x >= b && (mask == nil || mask[i] != 0) {
			c.rows = append(c.rows, int32(base+i))
			c.rs = append(c.rs, x)
		}
	}
	if len(c.rows) > c.limit {
		b = c.bound()
		w := 0
		for j, x := range c.rs {
			if x >= b {
				c.rows[w], c.rs[w] = c.rows[j], x
				w++
			}
		}
		c.rows, c.rs = c.rows[:w], c.rs[:w]
		if w > c.limit/2 {
			c.limit *= 2 // rows within rounding of each other: keep them all
		}
	}
}
