package attention

import (
	"bytes"
	"math"
)

// State is a partial softmax-weighted sum over some rows, the (m, ℓ, o) triple
// of the online softmax (Milakov & Gimelshein, "Online normalizer calculation
// for softmax", 2018): with logits xᵢ = scoreᵢ·invT,
//
//	Max = max xᵢ, Sum = Σ e^(xᵢ−Max), Acc[j] = Σ e^(xᵢ−Max)·vᵢⱼ.
//
// A State with Sum == 0 is empty (no rows; the zero value is empty too).
// States over disjoint rows combine with Merge in any order. A State is not
// safe for concurrent use; give each goroutine its own and merge them.
//
// The rescaling factors are computed from the largest score and invT, not
// from Max, so that any invT in (0, +Inf] works: Max itself may be ±Inf
// when the largest score times invT leaves float64's range.
type State struct {
	Max float64   // running maximum logit, ref·invT; −Inf when empty (0 in the zero value)
	Sum float64   // Σ e^(logit−Max); ≥ 1 unless empty
	Acc []float64 // Σ e^(logit−Max)·v, one entry per value component

	buf   []float32 // per-chunk float32 partial sums of the value rows
	saved []float64 // Acc before the current block (see guard)
	ref   float32   // the largest score folded in
	invT  float64   // the invT the rows were folded with
	// overflow: some row's exact score lies beyond float32's range.
	overflow bool

	savedMax, savedSum float64 // see save
	savedRef           float32
	savedInvT          float64

	keep []float32 // AccumulateKeep's scores, nil otherwise
}

// NewState returns an empty State for value rows of dv components (dv may be
// 0 to compute only the normaliser).
func NewState(dv int) *State {
	if dv < 0 {
		panic("attention: negative value dimension")
	}
	return &State{Max: math.Inf(-1), Acc: make([]float64, dv), buf: make([]float32, dv, (dv+7)&^7)}
}

// Reset empties s, keeping its buffers.
func (s *State) Reset() {
	s.Max = math.Inf(-1)
	s.Sum = 0
	s.overflow = false
	clear(s.Acc)
}

// Empty reports whether no row has been folded into s.
func (s *State) Empty() bool { return s.Sum == 0 }

// Err returns ErrScoreRange if the exact score of some row folded into s
// (or into a State merged into it) lies beyond float32's range; such a row
// cannot be weighted, and the blend is not meaningful. Nil otherwise.
func (s *State) Err() error {
	if s.overflow {
		return ErrScoreRange
	}
	return nil
}

// LogSumExp returns log Σ e^(logitᵢ), the log of the softmax normaliser:
// the weight of a row with logit x is e^(x − LogSumExp()). −Inf when empty.
func (s *State) LogSumExp() float64 {
	if s.Empty() {
		return math.Inf(-1)
	}
	return s.Max + math.Log(s.Sum)
}

// Result writes the blend Acc/Sum into dst and reports true, or leaves dst
// untouched and reports false when s is empty (SQL: the blend is NULL).
// A blend of finite values is finite: it lies within their range. It
// panics unless len(dst) == len(s.Acc).
func (s *State) Result(dst []float32) bool {
	if len(dst) != len(s.Acc) {
		panic("attention: Result: len(dst) != value dimension")
	}
	if s.Empty() {
		return false
	}
	inv := 1 / s.Sum
	for j, a := range s.Acc {
		// A convex combination of float32 values rounds to within their
		// range; the clamp only absorbs float64 rounding at ±MaxFloat32.
		dst[j] = float32(max(min(a*inv, math.MaxFloat32), -math.MaxFloat32))
	}
	return true
}

// Merge folds o into s (o is unchanged): both are rescaled to the larger
// maximum, so no exponent can overflow. The result does not depend on the
// order of merges beyond float64 rounding. It panics if the value
// dimensions differ.
func (s *State) Merge(o *State) {
	if len(o.Acc) != len(s.Acc) {
		panic("attention: Merge: value dimensions differ")
	}
	s.overflow = s.overflow || o.overflow
	if o.Empty() {
		return
	}
	if s.Empty() {
		s.Max, s.Sum, s.ref, s.invT = o.Max, o.Sum, o.ref, o.invT
		copy(s.Acc, o.Acc)
		return
	}
	var a, b float64 // s.Acc·a + o.Acc·b
	if s.invT == o.invT {
		a, b = s.rescale(o.ref, o.invT)
	} else if o.Max > s.Max { // states folded at different temperatures
		a, b = math.Exp(s.Max-o.Max), 1
		s.Max, s.ref, s.invT = o.Max, o.ref, o.invT
	} else {
		a, b = 1, math.Exp(o.Max-s.Max)
	}
	s.Sum = s.Sum*a + o.Sum*b
	for j := range s.Acc {
		s.Acc[j] = s.Acc[j]*a + o.Acc[j]*b
	}
}

// rescale moves s (not empty) to the maximum score max(s.ref, ref) and
// returns the factors that bring s's sums (a) and sums relative to ref (b)
// to it; the caller applies them to Sum and Acc.
func (s *State) rescale(ref float32, invT float64) (a, b float64) {
	switch {
	case ref == s.ref:
		return 1, 1
	case ref > s.ref:
		a = gap(s.ref, ref, invT)
		s.ref, s.Max = ref, logit(ref, invT)
		return a, 1
	default:
		return 1, gap(ref, s.ref, invT)
	}
}

// gap returns e^((lo−hi)·invT) for scores lo < hi, computed in float64 from
// the float32 scores, so that neither the difference nor the logits can
// overflow (hi − lo ≤ 2·MaxFloat32).
func gap(lo, hi float32, invT float64) float64 {
	x := (float64(lo) - float64(hi)) * invT
	if x != x { // invT = +Inf with lo < hi
		return 0
	}
	return math.Exp(x)
}

// logit is score·invT, with 0·Inf taken as 0.
func logit(score float32, invT float64) float64 {
	if score == 0 {
		return 0
	}
	return float64(score) * invT
}

// Accumulate folds rows [0, n) of one block into s in a single pass: the keys
// of scanRows rows are scored, then for each chunk of them the weights are
// computed and the value rows summed in memory order, and the chunk is
// merged into s.
//
// keys is n×d and values n×dv, both row-major; mask is nil or has length n,
// and mask[i] == 0 leaves row i out. qnorm must be ‖q‖ for Cosine (ignored
// otherwise). invT = 1/T must be positive; +Inf (T → 0) puts all weight on
// the best score, split among exact ties. Shape mismatches panic.
//
// A row whose exact score lies beyond float32's range takes no part and
// makes Err report ErrScoreRange. Scores that only overflowed on the way
// (a product or a partial sum) are recomputed in float64; value sums that
// overflowed float32 are redone in float64 (see guard), so a blend of
// finite values is finite.
func (s *State) Accumulate(m Metric, q []float32, qnorm float32, keys []float32, d int, values []float32, dv int, mask []byte, invT float64) {
	m.check()
	checkQuery(q, d)
	n := rows(keys, d)
	s.checkBlock(n, values, dv, mask)
	checkInvT(invT)
	s.save()
	s.accumulate(m, q, qnorm, keys, d, values, dv, mask, invT, false)
	if !s.finite() {
		s.restore()
		s.accumulate(m, q, qnorm, keys, d, values, dv, mask, invT, true)
	}
}

func (s *State) accumulate(m Metric, q []float32, qnorm float32, keys []float32, d int, values []float32, dv int, mask []byte, invT float64, wide bool) {
	n := len(keys) / d
	var sc, kk [scanRows]float32
	for start := 0; start < n; start += scanRows {
		end := min(start+scanRows, n)
		p := sc[:end-start]
		if scoreChunk(p, kk[:], m, q, qnorm, keys[start*d:end*d], d) && overflowAt(p, sub(mask, start, end)) {
			s.overflow = true
		}
		if s.keep != nil {
			copy(s.keep[start:end], p) // AccumulateKeep
		}
		// Chunks before the last are whole multiples of 8 rows, so the
		// kernels' scratch writes past len(p[c:e]) (see expShift) stay
		// within the last chunk's slice.
		for c := 0; c < len(p); c += chunk {
			e := min(c+chunk, len(p))
			var mk []byte
			if mask != nil {
				mk = mask[start+c : start+e]
			}
			s.fold(p[c:e], values[(start+c)*dv:(start+e)*dv], dv, mk, invT, wide)
		}
	}
}

// save keeps Acc, Sum and the maximum before a block, so that guard can redo
// the block; restore puts them back.
func (s *State) save() {
	if cap(s.saved) < len(s.Acc) {
		s.saved = make([]float64, len(s.Acc))
	}
	s.saved = s.saved[:len(s.Acc)]
	copy(s.saved, s.Acc)
	s.savedMax, s.savedSum, s.savedRef, s.savedInvT = s.Max, s.Sum, s.ref, s.invT
}

func (s *State) restore() {
	copy(s.Acc, s.saved)
	s.Max, s.Sum, s.ref, s.invT = s.savedMax, s.savedSum, s.savedRef, s.savedInvT
}

// finite reports whether every Acc entry is finite. Value sums are float32
// within a chunk: up to 64 weights ≤ 1 times values up to MaxFloat32 can
// overflow, which leaves ±Inf (or NaN) in Acc; the float64 sums themselves
// cannot (n·MaxFloat32 ≪ MaxFloat64). Checking once per block keeps the
// chunk loop free of it; the block is then redone with float64 sums.
func (s *State) finite() bool {
	for _, a := range s.Acc {
		if a-a != 0 {
			return false
		}
	}
	return true
}

// scanRows is how many rows Accumulate scores before it blends them, chunk
// by chunk: the scan switches between the key and the value stream once
// per scanRows rows. On Zen 3, two goroutines reading keys and values
// alternately (attention.Max), each pass followed by a read of as many
// bytes in one stream, lost ~1.5% of the bandwidth switching every 64 rows
// and ~0.3% every 256. The folds are those of chunk-by-chunk scoring, so
// the result does not change.
const scanRows = 4 * chunk

// AccumulateScores folds rows whose scores are already known (for example the
// TOP k rows, or one value column with its own NULL mask): values is
// len(scores)×dv, mask as in Accumulate. scores is not modified; a ±Inf
// score (beyond float32's range) takes no part and sets Err.
func (s *State) AccumulateScores(scores []float32, values []float32, dv int, mask []byte, invT float64) {
	s.checkBlock(len(scores), values, dv, mask)
	checkInvT(invT)
	s.save()
	s.accumulateScores(scores, values, dv, mask, invT, false)
	if !s.finite() {
		s.restore()
		s.accumulateScores(scores, values, dv, mask, invT, true)
	}
}

func (s *State) accumulateScores(scores []float32, values []float32, dv int, mask []byte, invT float64, wide bool) {
	var sc [chunk]float32
	for start := 0; start < len(scores); start += chunk {
		end := min(start+chunk, len(scores))
		p, mk := s.scoreChunk(sc[:end-start], scores[start:end], sub(mask, start, end))
		s.fold(p, values[start*dv:end*dv], dv, mk, invT, wide)
	}
}

// scoreChunk copies a chunk of caller's scores into buf (the fold may
// change them) and notes a score beyond float32's range among the rows
// mask keeps.
func (s *State) scoreChunk(buf, scores []float32, mask []byte) ([]float32, []byte) {
	copy(buf, scores)
	if !kern.allFinite(buf) && overflowAt(buf, mask) {
		s.overflow = true
	}
	return buf, mask
}

// AccumulateFloats is AccumulateScores for one scalar value per row, in
// float64 (a FLOAT column, or an INT column converted): values has
// len(scores) entries and mask is as in Accumulate. The weights are those
// of the vector path; the weighted sums are float64.
func (s *State) AccumulateFloats(scores []float32, values []float64, mask []byte, invT float64) {
	if len(s.Acc) != 1 {
		panic("attention: AccumulateFloats needs a State of one component")
	}
	if len(values) != len(scores) || mask != nil && len(mask) != len(scores) {
		panic("attention: AccumulateFloats: values or mask length differs from the row count")
	}
	checkInvT(invT)
	// Once for the whole block rather than chunk by chunk: the mask when
	// it keeps every row, and the test for scores beyond float32's range.
	if bytes.IndexByte(mask, 0) < 0 {
		mask = nil
	}
	finite := kern.allFinite(scores)
	start := 0
	if finite && mask == nil && fastInvT(invT) && kern.id >= idAVX2 && !noFoldFloats {
		// Whole chunks, 64 at a time, in one kernel call each: the
		// weights and sums the loop below would compute, bit for bit
		// (foldFloatsAVX2). Every chunk has a finite maximum of weight 1,
		// so each merges, and the kernel's running reference is s.ref.
		var refs, sums [64]float32
		var accs [64]float64
		for len(scores)-start >= chunk {
			nc := min((len(scores)-start)/chunk, len(refs))
			ref0 := float32(math.Inf(-1))
			if !s.Empty() {
				ref0 = s.ref
			}
			end := start + nc*chunk
			foldFloatsGo(scores[start:end], values[start:end], ref0, float32(invT), refs[:nc], sums[:nc], accs[:nc])
			for c := 0; c < nc; c++ {
				if sums[c] != 0 {
					a, b := s.mergeSum(refs[c], float64(sums[c]), invT)
					s.Acc[0] = s.Acc[0]*a + accs[c]*b
				}
			}
			start = end
		}
	}
	var sc [chunk]float32
	for ; start < len(scores); start += chunk {
		end := min(start+chunk, len(scores))
		p, mk := sc[:end-start], sub(mask, start, end)
		if finite {
			copy(p, scores[start:end])
		} else {
			p, mk = s.scoreChunk(p, scores[start:end], mk)
		}
		ref, sum, ok := s.weights(p, mk, invT)
		if !ok {
			continue
		}
		acc := weightedSum(p, values[start:start+len(p)])
		a, b := s.mergeSum(ref, sum, invT)
		s.Acc[0] = s.Acc[0]*a + acc*b
	}
}

// noFoldFloats turns AccumulateFloats' one-call fold off (tests compare).
var noFoldFloats bool

// weightedSum returns Σ w[i]·v[i] over the rows with w[i] ≠ 0 (a row of
// weight 0 takes no part even when its value is ±Inf or NaN), in float64.
// Four running sums, added pairwise at the end, break the chain of
// dependent additions (a sum per row would wait on the previous one:
// ~4 cycles a row); the error bound stays that of recursive summation,
// (n−1)·u·Σ|wᵢvᵢ| (Higham, Accuracy and Stability of Numerical
// Algorithms, 2nd ed., §4.2).
func weightedSum(w []float32, v []float64) float64 {
	v = v[:len(w)]
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(w); i += 4 {
		if x := w[i]; x != 0 {
			s0 += float64(x) * v[i]
		}
		if x := w[i+1]; x != 0 {
			s1 += float64(x) * v[i+1]
		}
		if x := w[i+2]; x != 0 {
			s2 += float64(x) * v[i+2]
		}
		if x := w[i+3]; x != 0 {
			s3 += float64(x) * v[i+3]
		}
	}
	for ; i < len(w); i++ {
		if x := w[i]; x != 0 {
			s0 += float64(x) * v[i]
		}
	}
	return (s0 + s1) + (s2 + s3)
}

// sub is mask[start:end], or nil for no mask.
func sub(mask []byte, start, end int) []byte {
	if mask == nil {
		return nil
	}
	return mask[start:end]
}

func (s *State) checkBlock(n int, values []float32, dv int, mask []byte) {
	if dv != len(s.Acc) {
		panic("attention: value dimension differs from the State's")
	}
	if len(values) != n*dv {
		panic("attention: values must hold n×dv floats")
	}
	if mask != nil && len(mask) != n {
		panic("attention: mask length differs from the row count")
	}
	if len(s.buf) != dv {
		s.buf = make([]float32, dv, (dv+7)&^7) // padded for whole-vector kernels
	}
}

func checkInvT(invT float64) {
	if !(invT > 0) {
		panic("attention: invT must be positive")
	}
}

// fastInvT reports whether the float32 exp kernel computes the weights for
// invT: (s−ref)·invT rounded in float32 is then a faithful logit (the
// difference of two float32 scores times a normal float32 factor, or
// −Inf where the true logit is below −2¹⁰⁰·… and the weight 0 anyway).
// Outside it (T < 2⁻¹⁰⁰ or T > 2¹⁰⁰) the weights are computed in float64.
func fastInvT(invT float64) bool { return invT >= 0x1p-100 && invT <= 0x1p100 }

// fold merges one chunk (≤ chunk rows) of scores p and value rows into s;
// p is overwritten with the weights. wide sums the value rows in float64.
func (s *State) fold(p []float32, values []float32, dv int, mask []byte, invT float64, wide bool) {
	ref, sum, ok := s.weights(p, mask, invT)
	if !ok {
		return
	}
	a, b := s.mergeSum(ref, sum, invT)
	if wide {
		for j := range s.Acc {
			s.Acc[j] *= a
		}
		for i, w := range p {
			if w == 0 {
				continue
			}
			wb := float64(w) * b
			v := values[i*dv : (i+1)*dv]
			for j, x := range v {
				s.Acc[j] += wb * float64(x)
			}
		}
		return
	}
	buf := s.buf
	clear(buf)
	kern.axpyRows(buf, p, values, dv)
	kern.scaleAdd(s.Acc, buf, a, b)
}

// weights turns one chunk's scores p into weights e^((pᵢ−ref)·invT), masked
// rows and NaN or ±Inf scores getting 0, and returns ref and Σ weights; ok
// is false when no row carries weight.
//
// ref is the larger of the chunk's maximum and the running maximum, so that
// rows far below the running maximum get weight exactly 0 and their value
// rows are never read.
func (s *State) weights(p []float32, mask []byte, invT float64) (ref float32, sum float64, ok bool) {
	ninf := float32(math.Inf(-1))
	if mask != nil {
		for i := range p {
			if mask[i] == 0 {
				p[i] = ninf
			}
		}
	}
	ref = kern.maxScore(p)
	if ref > math.MaxFloat32 {
		// A score beyond float32's range (Err reports it): it and the
		// rows of this chunk take no part.
		s.overflow = true
		for i := range p {
			if p[i] > math.MaxFloat32 {
				p[i] = ninf
			}
		}
		ref = kern.maxScore(p)
	}
	if ref == ninf {
		return 0, 0, false // every row masked
	}
	if !s.Empty() && s.ref > ref {
		ref = s.ref
	}
	if fastInvT(invT) {
		sum = float64(kern.expShift(p, ref, float32(invT)))
	} else {
		sum = expShift64(p, ref, invT)
	}
	return ref, sum, sum != 0
}

// expShift64 is expShift with the logits in float64, for temperatures
// whose 1/T float32 cannot carry (fastInvT).
func expShift64(p []float32, ref float32, invT float64) float64 {
	var sum float64
	for i, x := range p {
		var w float64
		switch {
		case x == ref:
			w = 1 // also for invT = +Inf
		case x < ref: // −Inf gives 0, NaN fails the test
			w = gap(x, ref, invT)
		}
		p[i] = float32(w)
		sum += float64(p[i])
	}
	return sum
}

// mergeSum merges a chunk's weight sum (relative to its reference score
// ref ≥ s.ref) into s and returns the factors for the value sums:
// Acc = Acc·a + chunk·b.
func (s *State) mergeSum(ref float32, sum, invT float64) (a, b float64) {
	if s.Empty() {
		s.ref, s.invT, s.Max, s.Sum = ref, invT, logit(ref, invT), sum
		return 0, 1
	}
	a, b = s.rescale(ref, invT)
	s.Sum = s.Sum*a + sum*b
	return a, b
}
