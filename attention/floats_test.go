package attention

import (
	"math"
	"testing"
)

// TestAccumulateFloats: the float64 blend of one scalar per row, fed in
// blocks of ragged lengths, against the float64 softmax of the same
// float32 scores (SPEC §4: 1e-5·max|v|). Rows masked out carry NaN and
// rows far below the best score seen so far (weight exactly 0) carry
// ±Inf: neither may reach the sum.
func TestAccumulateFloats(t *testing.T) {
	r := newRand(t)
	forEachKernel(t, func(t *testing.T) {
		for c := 0; c < 200; c++ {
			n := 1 + r.IntN(700)
			T := math.Pow(10, 2*r.Float64()-1) // 0.1 … 10
			scores := randVec(r, n, 10)
			vals := make([]float64, n)
			mask := make([]byte, n)
			best := float32(math.Inf(-1)) // the best live score
			for i := range vals {
				vals[i] = 100 * (2*r.Float64() - 1)
				if r.IntN(5) > 0 {
					mask[i] = 1
					best = max(best, scores[i])
				} else {
					vals[i] = math.NaN()
				}
			}
			// Row 0 is the best, so every block folds relative to it and a
			// far row's weight is 0 in the block that holds it.
			mask[0], vals[0], scores[0] = 1, 1, best+1
			best++
			for i := 1; i < n; i++ {
				if mask[i] != 0 && r.IntN(7) == 0 {
					// e^(−1000) is 0 in float32 and in float64 alike.
					scores[i] = best - float32(1000*T)
					vals[i] = math.Inf(1 - 2*r.IntN(2))
				}
			}
			var num, den, maxV float64
			for i, s := range scores {
				if mask[i] == 0 {
					continue
				}
				w := math.Exp((float64(s) - float64(best)) / T)
				if w == 0 {
					continue
				}
				num += w * vals[i]
				den += w
				maxV = max(maxV, math.Abs(vals[i]))
			}
			s := NewState(1)
			for start := 0; start < n; {
				end := min(n, start+1+r.IntN(200))
				s.AccumulateFloats(scores[start:end], vals[start:end], mask[start:end], 1/T)
				start = end
			}
			if den == 0 {
				if !s.Empty() {
					t.Fatalf("case %d: every row masked, state not empty", c)
				}
				continue
			}
			got, want := s.Acc[0]/s.Sum, num/den
			if math.IsNaN(got) || math.Abs(got-want) > 1e-5*maxV {
				t.Fatalf("case %d n=%d T=%.3g: blend %v, float64 reference %v (tol %.3g)", c, n, T, got, want, 1e-5*maxV)
			}
		}
	})
}
