package attention

import (
	"math/rand/v2"
	"testing"
)

// In-cache micro-benchmarks of the kernels (no memory traffic).
func BenchmarkKernel(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 3))
	const d, nk, dv = 128, 64, 128
	qs, keys, values := randVec(r, 3*d, 1), randVec(r, nk*d, 1), randVec(r, nk*dv, 1)
	b.Run("dotTile3x64/d=128", func(b *testing.B) {
		var dst [3 * 64]float32
		c := startClock(b)
		for i := 0; i < b.N; i++ {
			kern.dotTile(dst[:], 64, qs, 3, keys, nk, d)
		}
		report(b, c, 2*3*nk*d)
	})
	b.Run("axpy64/dv=128", func(b *testing.B) {
		acc := make([]float32, dv)
		p := randVec(r, nk, 1)
		c := startClock(b)
		for i := 0; i < b.N; i++ {
			kern.axpyRows(acc, p, values, dv)
		}
		report(b, c, 2*nk*dv)
	})
	b.Run("fold64/dv=128", func(b *testing.B) {
		s := NewState(dv)
		var p [chunk]float32
		c := startClock(b)
		for i := 0; i < b.N; i++ {
			copy(p[:], keys[:nk])
			s.fold(p[:], values, dv, nil, 1, false)
		}
		report(b, c, 2*nk*dv)
	})
}
