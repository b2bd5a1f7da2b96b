package attention

import (
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
type State struct {
	Max float64   // running maximum logit; −Inf when empty (0 in the zero value)
	Sum float64   // Σ e^(logit−Max); ≥ 1 unless empty
	Acc []float64 // Σ e^(logit−Max)·v, one entry per value component

	buf []float32 // per-chunk float32 partial sums of the value rows
	ref float32   // score whose logit is Max, when float64(ref)·invT == Max
	// pending is the ref of the chunk between weights and mergeChunk.
	pending float32
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
	clear(s.Acc)
}

// Empty reports whether no row has been folded into s.
func (s *State) Empty() bool { return s.Sum == 0 }

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
// It panics unless len(dst) == len(s.Acc).
func (s *State) Result(dst []float32) bool {
	if len(dst) != len(s.Acc) {
		panic("attention: Result: len(dst) != value dimension")
	}
	if s.Empty() {
		return false
	}
	inv := 1 / s.Sum
	for j, a := range s.Acc {
		dst[j] = float32(a * inv)
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
	if o.Empty() {
		return
	}
	if s.Empty() {
		s.Max, s.Sum, s.ref = o.Max, o.Sum, o.ref
		copy(s.Acc, o.Acc)
		return
	}
	if o.Max > s.Max {
		a := math.Exp(s.Max - o.Max)
		s.Max, s.ref = o.Max, o.ref
		s.Sum = s.Sum*a + o.Sum
		for j := range s.Acc {
			s.Acc[j] = s.Acc[j]*a + o.Acc[j]
		}
		return
	}
	b := math.Exp(o.Max - s.Max)
	s.Sum += o.Sum * b
	for j := range s.Acc {
		s.Acc[j] += o.Acc[j] * b
	}
}

// Accumulate folds rows [0, n) of one block into s in a single pass: the keys
// of scanRows rows are scored, then for each chunk of them the weights are
// computed and the value rows summed in memory order, and the chunk is
// merged into s.
//
// keys is n×d and values n×dv, both row-major; mask is nil or has length n,
// and mask[i] == 0 leaves row i out. qnorm must be ‖q‖ for Cosine (ignored
// otherwise). invT = 1/T must be positive; +Inf acts like the largest float32
// (all weight on the best score, split among exact ties). Shape mismatches
// panic.
func (s *State) Accumulate(m Metric, q []float32, qnorm float32, keys []float32, d int, values []float32, dv int, mask []byte, invT float32) {
	m.check()
	checkQuery(q, d)
	n := rows(keys, d)
	s.checkBlock(n, values, dv, mask)
	invT = clampInvT(invT)
	var sc, kk [scanRows]float32
	for start := 0; start < n; start += scanRows {
		end := min(start+scanRows, n)
		p := sc[:end-start]
		scoreChunk(p, kk[:], m, q, qnorm, keys[start*d:end*d], d)
		// Chunks before the last are whole multiples of 8 rows, so the
		// kernels' scratch writes past len(p[c:e]) (see expShift) stay
		// within the last chunk's slice.
		for c := 0; c < len(p); c += chunk {
			e := min(c+chunk, len(p))
			var mk []byte
			if mask != nil {
				mk = mask[start+c : start+e]
			}
			s.fold(p[c:e], values[(start+c)*dv:(start+e)*dv], dv, mk, invT)
		}
	}
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
// len(scores)×dv, mask as in Accumulate. scores is not modified.
func (s *State) AccumulateScores(scores []float32, values []float32, dv int, mask []byte, invT float32) {
	s.checkBlock(len(scores), values, dv, mask)
	invT = clampInvT(invT)
	var sc [chunk]float32
	for start := 0; start < len(scores); start += chunk {
		end := min(start+chunk, len(scores))
		p := sc[:end-start]
		copy(p, scores[start:end])
		var mk []byte
		if mask != nil {
			mk = mask[start:end]
		}
		s.fold(p, values[start*dv:end*dv], dv, mk, invT)
	}
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

func clampInvT(invT float32) float32 {
	if !(invT > 0) {
		panic("attention: invT must be positive")
	}
	return min(invT, math.MaxFloat32)
}

// fold merges one chunk (≤ chunk rows) of scores p and value rows into s;
// p is overwritten with the weights.
func (s *State) fold(p []float32, values []float32, dv int, mask []byte, invT float32) {
	lref, sum, ok := s.weights(p, mask, invT)
	if !ok {
		return
	}
	buf := s.buf
	clear(buf)
	kern.axpyRows(buf, p, values, dv)
	s.mergeChunk(buf, lref, sum)
}

// weights turns one chunk's scores p into weights e^((pᵢ−ref)·invT), masked
// rows and NaN scores getting 0, and returns the chunk's reference logit
// lref = ref·invT and Σ weights; ok is false when no row carries weight.
//
// ref is the larger of the chunk's maximum and the running maximum, so that
// rows far below the running maximum get weight exactly 0 and their value
// rows are never read. ref must be a float32 whose logit is exact in
// float64, hence the round trip through s.Max/invT.
func (s *State) weights(p []float32, mask []byte, invT float32) (lref, sum float64, ok bool) {
	ninf := float32(math.Inf(-1))
	if mask != nil {
		for i := range p {
			if mask[i] == 0 {
				p[i] = ninf
			}
		}
	}
	ref := kern.maxScore(p)
	if ref == ninf {
		return 0, 0, false // every row masked
	}
	if !s.Empty() {
		r := s.ref
		if float64(r)*float64(invT) != s.Max {
			r = float32(s.Max / float64(invT))
		}
		if r > ref {
			ref = r
		}
	}
	lref = float64(ref) * float64(invT)
	sum = float64(kern.expShift(p, ref, invT))
	s.pending = ref
	return lref, sum, sum != 0
}

// mergeChunk merges a chunk's float32 value sums buf (len dv), reference
// logit lref and weight sum into s, rescaling whichever side has the smaller
// maximum.
func (s *State) mergeChunk(buf []float32, lref, sum float64) {
	switch {
	case s.Empty():
		s.Max, s.Sum, s.ref = lref, sum, s.pending
		kern.scaleAdd(s.Acc, buf, 0, 1)
	case lref > s.Max:
		a := math.Exp(s.Max - lref)
		s.Max, s.ref = lref, s.pending
		s.Sum = s.Sum*a + sum
		kern.scaleAdd(s.Acc, buf, a, 1)
	case lref == s.Max: // the usual case once the maximum has settled
		s.Sum += sum
		kern.scaleAdd(s.Acc, buf, 1, 1)
	default:
		b := math.Exp(lref - s.Max)
		s.Sum += sum * b
		kern.scaleAdd(s.Acc, buf, 1, b)
	}
}
