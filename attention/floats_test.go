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
				if mask[i] == 0 || c%3 == 0 {
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
			if c%3 == 0 { // no mask: AccumulateFloats' one-call fold
				for i := range mask {
					if mask[i] == 0 {
						mask[i], vals[i] = 1, 100*(2*r.Float64()-1)
					}
				}
				num, den, maxV = 0, 0, 0
				for i, s := range scores {
					if w := math.Exp((float64(s) - float64(best)) / T); w != 0 {
						num += w * vals[i]
						den += w
						maxV = max(maxV, math.Abs(vals[i]))
					}
				}
			}
			// A score beyond float32's range: harmless on a masked row,
			// ErrScoreRange on a live one (SPEC §4).
			wantErr := false
			if c%5 == 0 {
				i := 1 + r.IntN(n)
				if i < n {
					scores[i] = float32(math.Inf(1 - 2*r.IntN(2)))
					wantErr = mask[i] != 0
				}
			}
			s := NewState(1)
			for start := 0; start < n; {
				end := min(n, start+1+r.IntN(200))
				s.AccumulateFloats(scores[start:end], vals[start:end], mask[start:end], 1/T)
				start = end
			}
			if (s.Err() != nil) != wantErr {
				t.Fatalf("case %d: Err %v, want an error %v", c, s.Err(), wantErr)
			}
			if wantErr {
				continue
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

// TestFoldFloats: AccumulateFloats' one-call fold of whole chunks
// (foldFloatsAVX2) gives the bits of the chunk-by-chunk loop, over blocks
// of ragged lengths (whole chunks, then a tail) and a running maximum that
// moves up and down between blocks.
func TestFoldFloats(t *testing.T) {
	r := newRand(t)
	forEachKernel(t, func(t *testing.T) {
		for c := 0; c < 100; c++ {
			n := 1 + r.IntN(3000)
			T := math.Pow(10, 2*r.Float64()-1)
			scores := randVec(r, n, 10)
			vals := make([]float64, n)
			for i := range vals {
				vals[i] = 100 * (2*r.Float64() - 1)
			}
			cuts := []int{0}
			for cuts[len(cuts)-1] < n {
				cuts = append(cuts, min(n, cuts[len(cuts)-1]+1+r.IntN(1000)))
			}
			var states [2]*State
			for k, off := range []bool{false, true} {
				noFoldFloats = off
				s := NewState(1)
				for i := 1; i < len(cuts); i++ {
					s.AccumulateFloats(scores[cuts[i-1]:cuts[i]], vals[cuts[i-1]:cuts[i]], nil, 1/T)
				}
				states[k] = s
			}
			noFoldFloats = false
			a, b := states[0], states[1]
			if math.Float64bits(a.Sum) != math.Float64bits(b.Sum) || math.Float64bits(a.Acc[0]) != math.Float64bits(b.Acc[0]) || a.Max != b.Max {
				t.Fatalf("case %d n=%d: one-call fold (%v, %v, %v), chunk by chunk (%v, %v, %v)", c, n, a.Max, a.Sum, a.Acc[0], b.Max, b.Sum, b.Acc[0])
			}
		}
	})
}

// BenchmarkFoldFloats: AccumulateFloats over one chunk's scores of 16,384
// rows (L2-resident, no mask, as exec's fused blend of a FLOAT column
// gives it), with each kernel set; with -count the sets alternate.
//
//	go test -run=NONE -bench=FoldFloats -count=6 ./attention
func BenchmarkFoldFloats(b *testing.B) {
	const n = 16384
	bd := benchBlock(n, 1, 1, 1)
	vals := make([]float64, n)
	for i := range vals {
		vals[i] = float64(bd.values[i])
	}
	for _, k := range kernelSets {
		b.Run("kernel="+k.name, func(b *testing.B) {
			defer useKernel(useKernel(k))
			s := NewState(1)
			b.SetBytes(n * 12)
			start := startClock(b)
			for i := 0; i < b.N; i++ {
				s.Reset()
				s.AccumulateFloats(bd.keys, vals, nil, 1/11.3)
			}
			report(b, start, 0)
		})
	}
}
