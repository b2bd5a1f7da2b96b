package attention

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestOracleRange runs every path (Accumulate, AccumulateBatch,
// AccumulateScores after ScoreRows, Softmax, PushBlock, TopKBatch) on keys,
// queries and values of magnitudes from 1e-30 to 3e38, against the float64
// reference from the same float32 inputs. Tolerances:
//   - scores: the dot-product bound of scoreErrBound plus (4d+16)·2⁻¹⁴⁹ for
//     products that underflow (a score below float32's range is 0);
//   - blends: blendTol (SPEC §4's 1e-5·max|v|, widened by e^(2δ/T) for a
//     score error δ); weights within 1e-6 + e^(2δ/T) − 1;
//   - ranking: the best row's reference score within 2δ of the best
//     reference score; TopKBatch returns exactly PushBlock's rows and scores.
//
// Where the exact DOT or L2 score of a row lies beyond float32's range,
// every path must report ErrScoreRange instead (COSINE never does).
func TestOracleRange(t *testing.T) {
	forEachKernel(t, func(t *testing.T) {
		r := newRand(t)
		cases := 300
		if testing.Short() {
			cases = 120
		}
		overflowed := 0
		for ci := 0; ci < cases; ci++ {
			m := Metric(r.IntN(3))
			n := 1 + r.IntN(300)
			d := []int{1, 2, 3, 8, 17, 64}[r.IntN(6)]
			dv := []int{1, 3, 9}[r.IntN(3)]
			sk, sq, sv := rangeScale(r), rangeScale(r), rangeScale(r)
			if r.IntN(3) == 0 {
				sq = sk // queries among the keys: L2 cancellation
			}
			keys, values := randVec(r, n*d, sk), randVec(r, n*dv, sv)
			if r.IntN(3) == 0 { // clustered far from the origin
				off := randVec(r, d, sk)
				for i := range keys {
					keys[i] = off[i%d] + keys[i]*1e-4
				}
			}
			nq := 2 + r.IntN(4)
			qs := randVec(r, nq*d, sq)
			at := r.IntN(nq)
			q := qs[at*d : (at+1)*d]
			if r.IntN(2) == 0 && n > 0 { // a query equal to a key
				copy(q, keys[r.IntN(n)*d:])
			}
			mask := randMask(r, n)
			norms := make([]float32, nq)
			for a := range norms {
				norms[a] = Norm(qs[a*d : (a+1)*d])
			}

			// Reference scores, and whether one is out of range.
			ref := make([]float64, n)
			over, border := false, false
			lo, hi := math.Inf(1), math.Inf(-1)
			for i := range ref {
				ref[i] = refScore(m, q, keys[i*d:(i+1)*d])
				a := math.Abs(ref[i])
				if mask != nil && mask[i] == 0 {
					continue
				}
				over = over || a > math.MaxFloat32*1.001
				border = border || a > math.MaxFloat32*0.999 && a <= math.MaxFloat32*1.001
				lo, hi = min(lo, ref[i]), max(hi, ref[i])
			}
			if border {
				continue // rounds either way
			}
			delta := scoreErrBound(m, q, keys, d) + float64(4*d+16)*0x1p-149
			// A temperature on the scale of the scores' spread.
			T := logUniform(r, 1e-2, 1e2) * max(hi-lo, 1e-30)
			if math.IsInf(T, 0) || math.IsNaN(T) {
				T = 1
			}
			invT := 1 / T
			what := func(how string) string {
				return how + ": " + m.String() + " " + fmtCase(n, d, dv, sk, sq, sv, T)
			}
			wantErr := func(how string, err error) {
				t.Helper()
				if over != errors.Is(err, ErrScoreRange) {
					t.Fatalf("case %d %s: err %v, want overflow %v", ci, what(how), err, over)
				}
			}

			s := NewState(dv)
			s.Accumulate(m, q, norms[at], keys, d, values, dv, mask, invT)
			wantErr("Accumulate", s.Err())
			states := make([]*State, nq)
			for a := range states {
				states[a] = NewState(dv)
			}
			AccumulateBatch(states, m, qs, norms, keys, d, values, dv, mask, invT)
			wantErr("AccumulateBatch", states[at].Err())
			sc := make([]float32, n)
			err := ScoreRows(sc, m, q, keys, d)
			if mask == nil {
				wantErr("ScoreRows", err)
			}
			top := NewTopK(3)
			top.PushBlock(m, q, norms[at], keys, d, nil, mask)
			wantErr("PushBlock", top.Err())
			tops := make([]*TopK, nq)
			for a := range tops {
				tops[a] = NewTopK(3)
			}
			TopKBatch(tops, m, qs, norms, keys, d, nil, mask)
			wantErr("TopKBatch", tops[at].Err())
			if over {
				overflowed++
				continue
			}

			// Scores.
			for i, x := range sc {
				if mask != nil && mask[i] == 0 {
					continue // may lie beyond float32's range: ±Inf
				}
				if e := math.Abs(float64(x) - ref[i]); !(e <= delta) {
					t.Fatalf("case %d %s: score %d = %g, want %g (err %.3g > %.3g)", ci, what("ScoreRows"), i, x, ref[i], e, delta)
				}
			}
			// Blends.
			want, wref, ok := refSoft(m, q, keys, d, values, dv, mask, T)
			tol := blendTol(delta, T, maxAbs32(values))
			check := func(how string, st *State) {
				t.Helper()
				got := make([]float32, dv)
				if gotOK := st.Result(got); gotOK != ok {
					t.Fatalf("case %d %s: ok=%v want %v", ci, what(how), gotOK, ok)
				}
				for j := range got {
					if math.IsInf(float64(got[j]), 0) || math.IsNaN(float64(got[j])) {
						t.Fatalf("case %d %s: component %d = %g", ci, what(how), j, got[j])
					}
					if e := math.Abs(float64(got[j]) - want[j]); !(e <= tol) {
						t.Fatalf("case %d %s: component %d = %g, want %g (err %.3g > tol %.3g)", ci, what(how), j, got[j], want[j], e, tol)
					}
				}
			}
			check("Accumulate", s)
			check("AccumulateBatch", states[at])
			s2 := NewState(dv)
			s2.AccumulateScores(sc, values, dv, mask, invT)
			check("AccumulateScores", s2)
			if mask == nil && ok {
				w := make([]float64, n)
				Softmax(w, sc, invT)
				wtol := 1e-6 + math.Expm1(2*delta/T)
				for i := range w {
					if e := math.Abs(w[i] - wref[i]); !(e <= wtol) {
						t.Fatalf("case %d %s: weight %d = %g, want %g", ci, what("Softmax"), i, w[i], wref[i])
					}
				}
			}
			// Ranking.
			best := top.Sorted()
			if ok && len(best) > 0 && ref[best[0].ID] < hi-2*delta {
				t.Fatalf("case %d %s: best row %d scores %g, the best %g (δ %.3g)", ci, what("PushBlock"), best[0].ID, ref[best[0].ID], hi, delta)
			}
			bb := tops[at].Sorted()
			if len(bb) != len(best) {
				t.Fatalf("case %d %s: %v, PushBlock %v", ci, what("TopKBatch"), bb, best)
			}
			for i := range bb {
				if bb[i] != best[i] {
					t.Fatalf("case %d %s: %v, PushBlock %v", ci, what("TopKBatch"), bb, best)
				}
			}
		}
		t.Logf("%d of %d cases overflowed float32 (ErrScoreRange checked)", overflowed, cases)
	})
}

// rangeScale draws a magnitude from 1e-30 to 3e38, log-uniform, with the
// ends and the overflow threshold of squares (~1e19) drawn more often.
func rangeScale(r *rand.Rand) float64 {
	switch r.IntN(6) {
	case 0:
		return []float64{1e-30, 1e-23, 1e-15, 1e18, 1e19, 3e19, 1e30, 3e38}[r.IntN(8)]
	case 1:
		return 1
	}
	return logUniform(r, 1e-30, 3e38)
}

func fmtCase(n, d, dv int, sk, sq, sv, T float64) string {
	return fmt.Sprintf("n=%d d=%d dv=%d keys~%.3g q~%.3g v~%.3g T=%.3g", n, d, dv, sk, sq, sv, T)
}
