package attention

import "math"

// chunk is the number of rows scored, weighted and blended at a time. Its
// scores live on the stack, and its float32 partial sums stay accurate: a
// sum of 64 products errs by at most 64·2⁻²⁴ ≈ 3.8e-6 relative before it is
// folded into float64 (Higham, Accuracy and Stability of Numerical
// Algorithms, 2nd ed., §4.2).
const chunk = 64

// ScoreRows sets dst[i] = score(q, keys[i*d:(i+1)*d]) for i < len(dst).
// It returns ErrScoreRange if some exact score lies beyond float32's range
// (that score is then ±Inf). It panics unless len(q) == d and keys holds
// at least len(dst) rows.
func ScoreRows(dst []float32, m Metric, q, keys []float32, d int) error {
	m.check()
	checkQuery(q, d)
	if len(keys) < len(dst)*d {
		panic("attention: ScoreRows: keys shorter than len(dst) rows")
	}
	var qnorm float32
	if m == Cosine {
		qnorm = Norm(q)
	}
	var kk [chunk]float32
	over := false
	for start := 0; start < len(dst); start += chunk {
		end := min(start+chunk, len(dst))
		if scoreChunk(dst[start:end], kk[:], m, q, qnorm, keys[start*d:end*d], d) {
			over = true
		}
	}
	if over {
		return ErrScoreRange
	}
	return nil
}

// scoreChunk scores len(dst) ≤ scanRows rows; kk is scratch of length ≥
// len(dst). It reports whether the exact score of some row lies beyond
// float32's range (that row's score is then ±Inf).
//
// The float32 kernels run first; a score they leave NaN or ±Inf (an
// overflowing product or partial sum, which finite inputs can cause) is
// recomputed in float64 (fixScores), where products and sums of float32
// inputs can neither overflow nor underflow. One pass over the scores
// finds them; the key loops are unchanged.
func scoreChunk(dst, kk []float32, m Metric, q []float32, qnorm float32, keys []float32, d int) bool {
	switch m {
	case Dot:
		kern.dotRows(dst, q, keys, d)
	case Cosine:
		kern.dotNormRows(dst, kk, q, keys, d)
		cosineRows(dst, kk, q, qnorm, keys, d)
		return false
	case L2:
		kern.l2Rows(dst, q, keys, d)
		for i, s := range dst {
			dst[i] = -s
		}
	}
	if kern.allFinite(dst) {
		return false
	}
	return fixScores(dst, m, q, keys, d)
}

// cosineRows finishes Cosine scores from q·k (in dst) and ‖k‖² (kk). The
// float32 values are used where they are faithful: ‖k‖² within
// [2⁻¹⁰⁰, 2¹⁰⁰] and ‖q‖ within [2⁻⁵⁰, 2⁵⁰], so that no product or partial
// sum of q·k or ‖k‖² can overflow (each is at most ‖q‖‖k‖ ≤ 2¹⁰⁰) and
// underflow costs at most d·2⁻¹⁴⁹ against ‖q‖‖k‖ ≥ 2⁻¹⁰⁰. Any other row is
// scored in float64 (cosine is scale-invariant, so every finite row has a
// score in [−1, 1]).
func cosineRows(dst, kk []float32, q []float32, qnorm float32, keys []float32, d int) {
	qok := qnorm >= 0x1p-50 && qnorm <= 0x1p50
	for i, s := range dst {
		if k := kk[i]; qok && k >= 0x1p-100 && k <= 0x1p100 {
			dst[i] = s / (qnorm * float32(math.Sqrt(float64(k))))
			continue
		}
		if qnorm == 0 || kk[i] == 0 && allZero32(keys[i*d:(i+1)*d]) {
			dst[i] = 0
			continue
		}
		dst[i] = float32(score64(Cosine, q, keys[i*d:(i+1)*d]))
	}
}

func allZero32(v []float32) bool {
	for _, x := range v {
		if x != 0 {
			return false
		}
	}
	return true
}

// overflowAt reports whether p has a ±Inf score in a row that mask (nil:
// all rows) leaves in: a row masked out (deleted, rejected by WHERE) may
// score beyond float32's range without harm.
func overflowAt(p []float32, mask []byte) bool {
	for i, x := range p {
		if math.IsInf(float64(x), 0) && (mask == nil || mask[i] != 0) {
			return true
		}
	}
	return false
}

// fixScores recomputes in float64 the scores of dst that are not finite
// and reports whether any exact score lies beyond float32's range (it is
// then ±Inf). Every product of two float32 values, and any sum of 65536 of
// them, is within float64's range, so the float64 score is finite.
func fixScores(dst []float32, m Metric, q, keys []float32, d int) bool {
	over := false
	for i, s := range dst {
		if s-s == 0 {
			continue
		}
		x := float32(score64(m, q, keys[i*d:(i+1)*d]))
		dst[i] = x
		if math.IsInf(float64(x), 0) {
			over = true
		}
	}
	return over
}

// score64 is the score of q and k accumulated in float64 (exact products,
// d roundings of 2⁻⁵³).
func score64(m Metric, q, k []float32) float64 {
	k = k[:len(q)]
	switch m {
	case Dot:
		var s float64
		for j, x := range q {
			s += float64(x) * float64(k[j])
		}
		return s
	case Cosine:
		s, qq, kk := dotNorms64(q, k)
		if qq == 0 || kk == 0 {
			return 0
		}
		return max(-1, min(1, s/(math.Sqrt(qq)*math.Sqrt(kk))))
	default:
		var s float64
		for j, x := range q {
			y := float64(x) - float64(k[j])
			s += y * y
		}
		return -s
	}
}

// dotNorms64 returns q·k, ‖q‖² and ‖k‖² accumulated in float64.
func dotNorms64(q, k []float32) (s, qq, kk float64) {
	for j, x := range q {
		y := float64(k[j])
		s += float64(x) * y
		qq += float64(x) * float64(x)
		kk += y * y
	}
	return s, qq, kk
}

func checkQuery(q []float32, d int) {
	if d <= 0 {
		panic("attention: dimension must be positive")
	}
	if len(q) != d {
		panic("attention: query length differs from the key dimension")
	}
}

// rows returns the number of rows in keys and panics on a ragged slice.
func rows(keys []float32, d int) int {
	if d <= 0 || len(keys)%d != 0 {
		panic("attention: keys length is not a multiple of d")
	}
	return len(keys) / d
}

// ScoreBatch is ScoreRows for many queries: dst[a*ldd+i] = score(q_a, k_i)
// for a < len(qs)/d and i < n, with keys n×d. qnorms[a] = ‖q_a‖ is read for
// Cosine only (may be nil otherwise). Keys are scored in register tiles
// (tileQ queries × up to chunk keys), so each key row is read from memory
// once for all queries; every score is bit-identical to ScoreRows'. It
// returns ErrScoreRange as ScoreRows does, and panics on shape mismatches.
func ScoreBatch(dst []float32, ldd int, m Metric, qs []float32, qnorms []float32, keys []float32, d int) error {
	m.check()
	if d <= 0 || len(qs)%d != 0 {
		panic("attention: ScoreBatch: qs is not a whole number of queries")
	}
	nq, n := len(qs)/d, rows(keys, d)
	if m == Cosine && len(qnorms) != nq {
		panic("attention: ScoreBatch: Cosine needs one norm per query")
	}
	if nq == 0 || n == 0 {
		return nil
	}
	if ldd < n || len(dst) < (nq-1)*ldd+n {
		panic("attention: ScoreBatch: dst too short")
	}
	if nq == 1 {
		return ScoreRows(dst[:n], m, qs, keys, d) // one query: keys in memory order
	}
	nk := max(min(chunk, keyTileBytes/(4*d)), 1)
	var kk, p [chunk]float32
	over := false
	for start := 0; start < n; start += nk {
		end := min(start+nk, n)
		c := end - start
		kc := keys[start*d : end*d]
		kern.prefetch(keys[end*d : min(end+nk, n)*d]) // as in AccumulateBatch
		if m == Cosine {
			kern.dotNormRows(p[:c], kk[:c], qs[:d], kc, d)
		}
		for a0 := 0; a0 < nq; a0 += tileQ {
			if scoreTile(dst[a0*ldd+start:], ldd, m, qs, qnorms, a0, min(a0+tileQ, nq), kc, c, d, kk[:c]) != 0 {
				over = true
			}
		}
	}
	if over {
		return ErrScoreRange
	}
	return nil
}

// scoreTile writes the scores of queries a0 ≤ a < a1 (≤ tileQ of them)
// against the c keys kc into dst[(a−a0)·ldd + i]: exactly ScoreRows'
// scores, non-finite ones recomputed as in scoreChunk. kk holds the keys'
// squared norms (read for Cosine). Bit a−a0 of the result is set when
// query a has a score beyond float32's range.
func scoreTile(dst []float32, ldd int, m Metric, qs, qnorms []float32, a0, a1 int, kc []float32, c, d int, kk []float32) (over uint8) {
	if m == L2 {
		kern.l2Tile(dst, ldd, qs[a0*d:a1*d], a1-a0, kc, c, d)
	} else {
		kern.dotTile(dst, ldd, qs[a0*d:a1*d], a1-a0, kc, c, d)
	}
	for a := a0; a < a1; a++ {
		row := dst[(a-a0)*ldd : (a-a0)*ldd+c]
		q := qs[a*d : (a+1)*d]
		switch m {
		case Cosine:
			cosineRows(row, kk, q, qnorms[a], kc, d)
			continue
		case L2:
			for i, x := range row {
				row[i] = -x
			}
		}
		if !kern.allFinite(row) && fixScores(row, m, q, kc, d) {
			over |= 1 << (a - a0)
		}
	}
	return over
}
