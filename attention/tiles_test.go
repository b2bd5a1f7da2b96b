package attention

import (
	"math"
	"testing"
)

// TestTileShapes: the shapes at the edges of the batch kernels' tiles
// (the avx512 set's 6 queries × 8 keys and 16-float strips, the avx2
// set's 3 × 4 and 8-float strips): ScoreBatch gives ScoreRows' scores bit
// for bit, and pv (the PV product of a batch tile) gives the avx2 set's
// sums bit for bit and the generic set's within float32 rounding.
func TestTileShapes(t *testing.T) {
	r := newRand(t)
	forEachKernel(t, func(t *testing.T) {
		for _, d := range []int{8, 16, 24, 128, 136} {
			for nq := 1; nq <= 14; nq++ {
				for _, n := range []int{7, 8, 9, 63, 64, 65, 200} {
					qs, keys := randVec(r, nq*d, 3), randVec(r, n*d, 3)
					dst := make([]float32, nq*n)
					ScoreBatch(dst, n, Dot, qs, nil, keys, d)
					want := make([]float32, n)
					for a := 0; a < nq; a++ {
						ScoreRows(want, Dot, qs[a*d:(a+1)*d], keys, d)
						for i := range want {
							if got := dst[a*n+i]; math.Float32bits(got) != math.Float32bits(want[i]) {
								t.Fatalf("d=%d nq=%d n=%d query %d row %d: %g, ScoreRows %g", d, nq, n, a, i, got, want[i])
							}
						}
					}
				}
			}
		}
		for _, dv := range []int{8, 16, 32, 48, 128, 144} {
			for nq := 1; nq <= 13; nq++ {
				for _, n := range []int{1, 5, 64} {
					p, values := randVec(r, nq*chunk, 1), randVec(r, n*dv, 10)
					lda := (dv + 7) &^ 7
					got := make([]float32, nq*lda)
					kern.pv(got, lda, p, chunk, nq, values, n, dv)
					var ref []float32
					if kern.id >= idAVX2 {
						ref = make([]float32, nq*lda)
						avx2Kernels.pv(ref, lda, p, chunk, nq, values, n, dv)
					}
					for a := 0; a < nq; a++ {
						exact, mag := make([]float64, dv), make([]float64, dv)
						for i := 0; i < n; i++ {
							for j := range exact {
								x := float64(p[a*chunk+i]) * float64(values[i*dv+j])
								exact[j] += x
								mag[j] += math.Abs(x)
							}
						}
						for j := 0; j < dv; j++ {
							g := got[a*lda+j]
							if ref != nil && math.Float32bits(g) != math.Float32bits(ref[a*lda+j]) {
								t.Fatalf("pv dv=%d nq=%d n=%d query %d component %d: %g, avx2 set %g", dv, nq, n, a, j, g, ref[a*lda+j])
							}
							// Recursive summation: n·u·Σ|pᵢvᵢ| (Higham §4.2).
							if math.Abs(float64(g)-exact[j]) > float64(n+1)*0x1p-24*mag[j]+1e-30 {
								t.Fatalf("pv dv=%d nq=%d n=%d query %d component %d: %g, float64 %g", dv, nq, n, a, j, g, exact[j])
							}
						}
					}
				}
			}
		}
	})
}
