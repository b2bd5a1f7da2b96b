package learn

import (
	"testing"

	"github.com/softdb/softdb/attention"
)

// BenchmarkLossGrad: one loss-and-gradient evaluation on a digits-sized
// problem (1200 rows, 64 → 4, 10 classes).
func BenchmarkLossGrad(b *testing.B) {
	p, w := randomProblem(3, 1200, 64, 4, attention.L2, false, false)
	p.Exact = false
	for i := range p.Labels {
		p.Labels[i] = int32(i % 10)
	}
	grad := make([]float64, len(w))
	for b.Loop() {
		p.LossGrad(w, grad)
	}
}
