package attention

import "sort"

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
func (t *TopK) Reset() { t.h = t.h[:0] }

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
		scoreChunk(sc[:end-start], kk[:], m, q, qnorm, keys[start*d:end*d], d)
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
//
// L2 is ranked in GEMM form, by 2q·k − ‖k‖² (the dot-product tile is about
// twice as fast as differences), as FAISS's IndexFlatL2 does; the best
// 2k+8 rows of each query are then rescored exactly as −‖q−k‖², so the
// scores reported are exact and a row can be missed only if more than k+8
// others come within float32 rounding of its score.
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
	// For L2 the heaps collect candidates by row index.
	heaps := tops
	if m == L2 {
		heaps = make([]*TopK, nq)
		for a := range heaps {
			heaps[a] = NewTopK(2*tops[a].k + 8)
		}
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
		if ids != nil && m != L2 {
			id = ids[start:end]
		}
		if m != Dot {
			kern.dotNormRows(p[:c], kk[:c], qs[:d], kc, d)
		}
		for a0 := 0; a0 < nq; a0 += tileQ {
			a1 := min(a0+tileQ, nq)
			scoreTile(tile[:], chunk, m, qs, qnorms, a0, a1, kc, c, d, kk[:c], true)
			for a := a0; a < a1; a++ {
				row := tile[(a-a0)*chunk : (a-a0)*chunk+c]
				heaps[a].pushChunk(row, int64(start), id, mk)
			}
		}
	}
	if m != L2 {
		return
	}
	for a, h := range heaps {
		q := qs[a*d : (a+1)*d]
		for _, e := range h.h {
			i := int(e.ID)
			kern.l2Rows(p[:1], q, keys[i*d:(i+1)*d], d)
			id := int64(i)
			if ids != nil {
				id = ids[i]
			}
			tops[a].Push(-p[0], id)
		}
	}
}
